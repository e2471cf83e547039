"""Ingest task: clean and normalise the raw article, then hand it to language detection."""

from typing import Any

from services.ingest.cleaning import clean_article
from services.ingest.worker import app
from shared.envelope import ArticleEnvelope, Status
from shared.names import STAGE_INGEST, TASK_INGEST, TASK_LANGUAGE
from shared.pipeline import PipelineTask


def ingest_impl(envelope: ArticleEnvelope) -> ArticleEnvelope:
    return envelope.model_copy(update={"clean": clean_article(envelope.input)})


class IngestTask(PipelineTask):
    stage = STAGE_INGEST


@app.task(bind=True, base=IngestTask, name=TASK_INGEST)
def process(self: IngestTask, message: dict[str, Any]) -> None:
    envelope = ingest_impl(ArticleEnvelope.from_message(message))
    assert envelope.clean is not None
    # The title is known from here on: show it while the article is in flight.
    title = {"title": envelope.clean.title} if envelope.clean.title else {}
    self.status.set_status(envelope.id, Status.INGESTED, **title)
    self.dispatch(TASK_LANGUAGE, envelope)
