"""Ingest task: clean and normalise the raw article, then hand it to language detection."""

from typing import Any

from services.ingest.cleaning import clean_article
from services.ingest.html import to_text_input
from services.ingest.worker import app
from shared.envelope import ArticleEnvelope, Status
from shared.names import STAGE_INGEST, TASK_INGEST, TASK_LANGUAGE
from shared.pipeline import PipelineTask
from shared.status import ContentRegistry


def ingest_impl(
    envelope: ArticleEnvelope, registry: ContentRegistry | None = None
) -> ArticleEnvelope:
    # HTML becomes text first; from here on the envelope carries only the text.
    envelope = envelope.model_copy(update={"input": to_text_input(envelope.input)})
    clean = clean_article(envelope.input)
    if registry is not None:
        first = registry.first_with(clean.content_hash, envelope.id)
        if first != envelope.id:
            # Kept and processed like any other (nothing is dropped), but marked.
            clean = clean.model_copy(update={"duplicate_of": first})
    return envelope.model_copy(update={"clean": clean})


class IngestTask(PipelineTask):
    stage = STAGE_INGEST


@app.task(bind=True, base=IngestTask, name=TASK_INGEST)
def process(self: IngestTask, message: dict[str, Any]) -> None:
    registry = ContentRegistry(self.status.client)
    envelope = ingest_impl(ArticleEnvelope.from_message(message), registry)
    assert envelope.clean is not None
    # The title is known from here on: show it while the article is in flight.
    title = {"title": envelope.clean.title} if envelope.clean.title else {}
    self.advance(envelope, Status.INGESTED, TASK_LANGUAGE, **title)
