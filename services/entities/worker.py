"""Celery app of the entities worker: `celery -A services.entities.worker worker`.

spaCy is the heavy stage: one task at a time per process. With batching on
(ENTITIES_BATCH_SIZE > 1, services/entities/batching.py) each pool process reserves two
batches' worth of messages (prefetch 2 x ENTITIES_BATCH_SIZE: one batch runs while the next
fills); without it, one message (prefetch 1), so a slow article never holds others hostage.

Its queues come from settings, not from the command line: at start-up the worker consumes
Settings.entities_queues() (ENTITIES_LANGUAGES, ENTITIES_ROUTED_LANGUAGES), replacing any
`-Q` (the image's generic command passes `-Q entities`).
"""

import gc
import logging
from typing import Any

from celery import signals

from shared.celery_app import create_celery_app
from shared.settings import get_settings
from shared.worker_health import startup_deadline


def prefetch_multiplier(batch_size: int) -> int:
    """Messages reserved per pool process: two batches when batching, else one."""
    return 2 * batch_size if batch_size > 1 else 1


app = create_celery_app(
    "entities",
    include=["services.entities.tasks"],
    worker_prefetch_multiplier=prefetch_multiplier(get_settings().entities_batch_size),
)
log = logging.getLogger(__name__)


@signals.worker_init.connect(weak=False)
def _serve_languages(sender: Any = None, **_: Any) -> None:
    # Runs after Celery applied -Q and before the consumer starts: the queues chosen here
    # are the ones consumed (also after a reconnect).
    from services.entities.extract import load_pipeline, require_models
    from services.entities.serving import mib, process_rss_bytes, served_models

    settings = get_settings()
    queues = settings.entities_queues()
    (sender.app if sender is not None else app).amqp.queues.select(queues)
    models = served_models(settings)
    log.info(
        "entities worker serves its languages",
        extra={"languages": sorted(models), "queues": queues, "preload": settings.entities_preload},
    )
    if not settings.entities_preload:
        # Each pool process loads a language on its first article (inside the task's time
        # limit) and keeps its own copy: memory grows with concurrency x languages.
        require_models(models)
        gc.freeze()
        return
    # Once, in the main process, before the pool forks: pool processes inherit the
    # models copy-on-write and start in milliseconds, so no CPU load can make a new pool
    # process miss Celery's UP timeout (it used to load every model itself, 23 s under
    # load). A missing model fails the worker at start-up, not mid-run; a load that
    # hangs ends the process after WORKER_STARTUP_TIMEOUT.
    with startup_deadline(settings.worker_startup_timeout, "loading spaCy models"):
        before = process_rss_bytes()
        for language, model in models.items():
            load_pipeline(model)
            log.info(
                "spaCy model loaded",
                extra={"language": language, "model": model, "rss_mib": mib(process_rss_bytes())},
            )
        rss = process_rss_bytes()
        log.info(
            "spaCy models loaded",
            extra={
                "languages": sorted(models),
                "rss_mib": mib(rss),
                "models_mib": mib(rss - before),
            },
        )
    # Keep the collector off the loaded objects: its bookkeeping writes would copy the
    # shared pages into every pool process.
    gc.freeze()
