"""Language task: document and paragraph languages, then on to entity extraction."""

from typing import Any

from services.language.detect import detect_language
from services.language.worker import app
from shared.envelope import ArticleEnvelope, Status
from shared.names import STAGE_LANGUAGE, TASK_ENTITIES, TASK_LANGUAGE, entities_queue
from shared.pipeline import PipelineTask
from shared.settings import Settings, get_settings


def expected_languages(envelope: ArticleEnvelope, settings: Settings) -> list[str] | None:
    """The request's expected languages, else the configured ones, else None (no prior)."""
    if envelope.input.expected_languages:
        return envelope.input.expected_languages
    configured = [code.strip() for code in settings.language_expected.split(",") if code.strip()]
    return configured or None


def language_impl(envelope: ArticleEnvelope, settings: Settings) -> ArticleEnvelope:
    if envelope.clean is None:
        raise ValueError("envelope has no clean text: ingest did not run")
    text = envelope.clean.text
    paragraphs = [text[p.start : p.end] for p in envelope.clean.paragraphs]
    result = detect_language(
        paragraphs,
        min_chars=settings.language_min_chars,
        min_confidence=settings.language_min_confidence,
        seed=settings.language_seed,
        expected=expected_languages(envelope, settings),
    )
    return envelope.model_copy(update={"language": result})


def entities_queue_for(envelope: ArticleEnvelope, settings: Settings) -> str:
    """The queue the article waits in for the entities stage: `entities.<lang>` when its
    language is routed (ENTITIES_ROUTED_LANGUAGES), else the shared `entities` queue."""
    code = envelope.language.code if envelope.language is not None else "und"
    return entities_queue(code, settings.entities_routed())


class LanguageTask(PipelineTask):
    stage = STAGE_LANGUAGE


@app.task(bind=True, base=LanguageTask, name=TASK_LANGUAGE)
def detect(self: LanguageTask, message: dict[str, Any]) -> None:
    settings = get_settings()
    envelope = language_impl(ArticleEnvelope.from_message(message), settings)
    self.advance(
        envelope,
        Status.LANGUAGE_DETECTED,
        TASK_ENTITIES,
        queue=entities_queue_for(envelope, settings),
    )
