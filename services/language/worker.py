"""Celery app of the language worker: `celery -A services.language.worker worker -Q language`."""

from typing import Any

from celery import signals

from shared.celery_app import create_celery_app
from shared.settings import get_settings
from shared.worker_health import startup_deadline

app = create_celery_app("language", include=["services.language.tasks"])


@signals.worker_init.connect(weak=False)
def _preload_detectors(**_: Any) -> None:
    # In the main process, before the pool forks (as the entities worker does): pool
    # processes inherit langdetect's profiles and lingua's detector and start at once.
    # lingua still loads each language's model on first use, inside a task (bounded by
    # the task's time limit), never at pool start.
    from services.language.detect import preload

    with startup_deadline(get_settings().worker_startup_timeout, "loading language detectors"):
        preload()
