"""Celery app of the entities worker: `celery -A services.entities.worker worker -Q entities`.

spaCy is the heavy stage: one task at a time per process (prefetch 1), so a slow
article never holds other articles hostage in this worker's buffer.
"""

import gc
import logging
from typing import Any

from celery import signals

from shared.celery_app import create_celery_app
from shared.settings import get_settings
from shared.worker_health import startup_deadline

app = create_celery_app(
    "entities", include=["services.entities.tasks"], worker_prefetch_multiplier=1
)
log = logging.getLogger(__name__)


@signals.worker_init.connect(weak=False)
def _preload_models(**_: Any) -> None:
    # Once, in the main process, before the pool forks: pool processes inherit the
    # models copy-on-write and start in milliseconds, so no CPU load can make a new pool
    # process miss Celery's UP timeout (it used to load every model itself, 23 s under
    # load). A missing model fails the worker at start-up, not mid-run; a load that
    # hangs ends the process after WORKER_STARTUP_TIMEOUT.
    from services.entities.extract import load_pipeline

    settings = get_settings()
    with startup_deadline(settings.worker_startup_timeout, "loading spaCy models"):
        for language, model in settings.spacy_models().items():
            load_pipeline(model)
            log.info("spaCy model loaded", extra={"language": language, "model": model})
    # Keep the collector off the loaded objects: its bookkeeping writes would copy the
    # shared pages into every pool process.
    gc.freeze()
