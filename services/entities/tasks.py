"""Entities task: named entities with the spaCy model of the detected language."""

from typing import Any

from services.entities.extract import extract_entities
from services.entities.serving import check_served
from services.entities.worker import app
from shared.envelope import ArticleEnvelope, LanguageResult, Status
from shared.names import STAGE_ENTITIES, TASK_ENTITIES, TASK_STORE
from shared.pipeline import PipelineTask
from shared.settings import Settings, get_settings


def paragraph_codes(count: int, language: LanguageResult) -> list[str]:
    """Language code of each clean paragraph, by index ("und" where none was given)."""
    by_index = {p.index: p.code for p in language.paragraphs}
    return [by_index.get(index, "und") for index in range(count)]


class TextTooLongError(ValueError):
    """Longer than ENTITIES_MAX_CHARS: spaCy's memory grows with the text's length."""


def entities_impl(envelope: ArticleEnvelope, settings: Settings) -> ArticleEnvelope:
    if envelope.clean is None or envelope.language is None:
        raise ValueError("envelope lacks clean text or language: earlier stages did not run")
    clean, language = envelope.clean, envelope.language
    models = settings.spacy_models()
    # A language with a model that this worker does not run (ENTITIES_LANGUAGES) fails the
    # stage with LanguageNotServedError: re-driven, it goes to the language's own queue.
    check_served(language.code, models, settings)
    if len(clean.text) > settings.entities_max_chars:
        # A permanent error: the article ends failed with this reason, and can be
        # re-driven once ENTITIES_MAX_CHARS is raised.
        raise TextTooLongError(
            f"clean text of {len(clean.text)} characters is longer than "
            f"ENTITIES_MAX_CHARS={settings.entities_max_chars}"
        )
    dateline = clean.dateline
    result = extract_entities(
        clean.text,
        language.code,
        models,
        paragraphs=[(p.start, p.end) for p in clean.paragraphs],
        paragraph_languages=paragraph_codes(len(clean.paragraphs), language),
        dateline=(
            (dateline.place_start, dateline.place_end)
            if dateline and dateline.place_start is not None and dateline.place_end is not None
            else None
        ),
        # A repeated title is content, not boilerplate: its names are the article's.
        boilerplate=[r.text for r in clean.removed if r.reason != "repeated_title"],
    )
    return envelope.model_copy(update={"entities": result})


class EntitiesTask(PipelineTask):
    stage = STAGE_ENTITIES


@app.task(bind=True, base=EntitiesTask, name=TASK_ENTITIES)
def extract(self: EntitiesTask, message: dict[str, Any]) -> None:
    envelope = entities_impl(ArticleEnvelope.from_message(message), get_settings())
    self.advance(envelope, Status.ENTITIES_EXTRACTED, TASK_STORE)
