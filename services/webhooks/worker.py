"""Celery app of the webhooks worker: `celery -A services.webhooks.worker worker -Q webhooks`.

Off the pipeline's path: the pipeline only appends events to a Redis stream (as part of
recording a status); this worker's dispatcher thread reads the stream as a consumer group,
makes one delivery per interested webhook for each `stored` or `failed` event, and its
pool processes make the HTTP attempts (tasks.py). A slow or dead receiver only fills this
worker's queue.
"""

import logging
import os
from typing import Any

from celery import signals

from shared.celery_app import create_celery_app
from shared.settings import get_settings

app = create_celery_app("webhooks", include=["services.webhooks.tasks"])
log = logging.getLogger(__name__)
EXIT_BAD_SETTINGS = 78  # EX_CONFIG


class WebhookSettingsError(RuntimeError):
    """Settings under which retries would be delivered twice (see Settings)."""


def check_settings() -> None:
    problem = get_settings().webhook_retry_problem()
    if problem is not None:
        raise WebhookSettingsError(problem)


@signals.worker_init.connect(weak=False)
def _refuse_bad_settings(**_: Any) -> None:
    # Before the pool starts. Celery only logs what a signal handler raises, so exit here,
    # non-zero and saying why (as worker_health.startup_deadline does).
    try:
        check_settings()
    except WebhookSettingsError as exc:
        log.critical("webhooks worker cannot start: %s", exc)
        os._exit(EXIT_BAD_SETTINGS)


@signals.worker_ready.connect(weak=False)
def _start_dispatcher(**_: Any) -> None:
    # In the main process, after the pool forked: its PostgreSQL and Redis connections
    # are never shared with a pool process.
    from services.webhooks.dispatch import start_dispatcher

    start_dispatcher(app, get_settings())
