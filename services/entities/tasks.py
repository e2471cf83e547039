"""Entities task: named entities with the spaCy model of the detected language."""

from collections.abc import Callable
from typing import Any

from spacy.language import Language

from services.entities.batching import (
    PREFETCHED,
    SHARED_RESULTS_TTL_S,
    PrefetchedEntities,
    SharedResults,
    batch_messages,
    batchable_texts,
    prefetch,
)
from services.entities.extract import extract_entities, model_entities
from services.entities.serving import check_served, served_models
from services.entities.worker import app
from shared import metrics
from shared.envelope import ArticleEnvelope, Entity, LanguageResult, Status
from shared.names import STAGE_ENTITIES, TASK_ENTITIES, TASK_STORE
from shared.pipeline import PipelineTask, deliveries_key
from shared.settings import Settings, get_settings


def paragraph_codes(count: int, language: LanguageResult) -> list[str]:
    """Language code of each clean paragraph, by index ("und" where none was given)."""
    by_index = {p.index: p.code for p in language.paragraphs}
    return [by_index.get(index, "und") for index in range(count)]


class TextTooLongError(ValueError):
    """Longer than ENTITIES_MAX_CHARS: spaCy's memory grows with the text's length."""


def entities_impl(
    envelope: ArticleEnvelope,
    settings: Settings,
    ner: Callable[[str, Language], list[Entity]] = model_entities,
) -> ArticleEnvelope:
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
        ner=ner,
    )
    return envelope.model_copy(update={"entities": result})


def batch_impl(
    envelope: ArticleEnvelope,
    others: list[dict[str, Any]],
    settings: Settings,
    unfinished: Callable[[list[str]], set[str]],
    into: PrefetchedEntities,
) -> int:
    """NER of a batch's articles in one nlp.pipe per model, kept in `into` for their own
    jobs; how many. The other articles whose earlier delivery never finished (`unfinished`:
    they may kill their worker) are left out; nothing is batched when none is left."""
    batch = [envelope]
    for message in others:
        try:
            batch.append(ArticleEnvelope.from_message(message))
        except ValueError:
            continue  # its own job fails it, with its reason
    suspects = unfinished([e.id for e in batch[1:]])
    batch = [batch[0], *(e for e in batch[1:] if e.id not in suspects)]
    if len(batch) < 2:
        return 0
    texts = batchable_texts(batch, served_models(settings), settings.entities_max_chars)
    return prefetch(texts, into)


class EntitiesTask(PipelineTask):
    stage = STAGE_ENTITIES
    # Messages reach the pool through a batch buffer (services/entities/batching.py).
    Strategy = "services.entities.batching:batching_strategy"

    # Articles whose NER the running attempt ran in one batch (0: none, or it ran alone).
    batched: int = 0

    def article_counts(self, outcome: str) -> dict[str, int]:
        counts = super().article_counts(outcome)
        if self.batched:
            counts[metrics.ENTITIES_BATCHED] = self.batched
        return counts

    def unfinished(self, article_ids: list[str]) -> set[str]:
        """The articles with a delivery to this stage that never finished (one round trip)."""
        if not article_ids:
            return set()
        counts = self.status.client.mget([deliveries_key(a, self.stage) for a in article_ids])
        return {a for a, n in zip(article_ids, counts, strict=True) if n and int(n) > 0}


@app.task(bind=True, base=EntitiesTask, name=TASK_ENTITIES)
def extract(self: EntitiesTask, message: dict[str, Any]) -> None:
    self.batched = 0
    settings = get_settings()
    envelope = ArticleEnvelope.from_message(message)
    if PREFETCHED.shared is None and settings.worker_concurrency > 1:
        PREFETCHED.shared = SharedResults(self.status.client, SHARED_RESULTS_TTL_S)
    others = batch_messages(self.request)
    # A delivery that follows one which never finished runs alone (services/entities/
    # batching.py: an article that kills its worker can only kill itself).
    if others and self.delivery == 1:
        self.batched = batch_impl(envelope, others, settings, self.unfinished, PREFETCHED)
    envelope = entities_impl(envelope, settings, ner=PREFETCHED.entities)
    self.advance(envelope, Status.ENTITIES_EXTRACTED, TASK_STORE)
