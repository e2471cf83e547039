"""Celery app of the entities worker: `celery -A services.entities.worker worker -Q entities`.

spaCy is the heavy stage: one task at a time per process (prefetch 1), so a slow
article never holds other articles hostage in this worker's buffer.
"""

import logging
from typing import Any

from celery import signals

from shared.celery_app import create_celery_app
from shared.settings import get_settings

app = create_celery_app(
    "entities", include=["services.entities.tasks"], worker_prefetch_multiplier=1
)
log = logging.getLogger(__name__)


@signals.worker_process_init.connect(weak=False)
def _preload_models(**_: Any) -> None:
    # Load every configured model once, when the pool process starts: the first
    # article is not slowed down, and a missing model fails at start-up, not mid-run.
    from services.entities.extract import load_pipeline

    for language, model in get_settings().spacy_models().items():
        load_pipeline(model)
        log.info("spaCy model loaded", extra={"language": language, "model": model})
