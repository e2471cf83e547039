"""Entities task: named entities with the spaCy model of the detected language."""

from typing import Any

from services.entities.extract import extract_entities
from services.entities.worker import app
from shared.envelope import ArticleEnvelope, Status
from shared.names import STAGE_ENTITIES, TASK_ENTITIES, TASK_STORE
from shared.pipeline import PipelineTask
from shared.settings import Settings, get_settings


def entities_impl(envelope: ArticleEnvelope, settings: Settings) -> ArticleEnvelope:
    if envelope.clean is None or envelope.language is None:
        raise ValueError("envelope lacks clean text or language: earlier stages did not run")
    result = extract_entities(envelope.clean.text, envelope.language.code, settings.spacy_models())
    return envelope.model_copy(update={"entities": result})


class EntitiesTask(PipelineTask):
    stage = STAGE_ENTITIES


@app.task(bind=True, base=EntitiesTask, name=TASK_ENTITIES)
def extract(self: EntitiesTask, message: dict[str, Any]) -> None:
    envelope = entities_impl(ArticleEnvelope.from_message(message), get_settings())
    self.status.set_status(envelope.id, Status.ENTITIES_EXTRACTED)
    self.dispatch(TASK_STORE, envelope)
