"""Celery app factory: one base configuration, overridden per worker (as onyx does)."""

from typing import Any

from celery import Celery, signals

from shared.logging import article_id_var, configure_logging
from shared.names import TASK_QUEUES
from shared.settings import Settings, get_settings
from shared.worker_health import (
    heartbeat_step,
    install_soft_timeout_guard,
    task_finished,
    task_started,
)


def base_config(settings: Settings) -> dict[str, Any]:
    transport = {
        # Must exceed the longest task: Redis redelivers unacked tasks after this long.
        "visibility_timeout": settings.visibility_timeout,
    }
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_routes": {name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        # At-least-once: ack after the task ran, redeliver if the worker died mid-task.
        # Every stage is idempotent, so a redelivery is harmless.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.task_soft_time_limit,
        # The pipeline is fire-and-forget: results would only fill Redis (noeviction).
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 4,
        "worker_concurrency": settings.worker_concurrency,
        # A new pool process only has to run Celery's own initialiser (models are loaded
        # once in the main process, before the fork): well under a second idle, a few
        # seconds on a saturated machine. Celery's 4 s default turned CPU load into an
        # endless kill-and-restart loop; 60 s is a wide margin that still ends a pool
        # process stuck at start within a minute.
        "worker_proc_alive_timeout": settings.worker_proc_alive_timeout,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "enable_utc": True,
    }


def create_celery_app(service: str, include: list[str] | None = None, **overrides: Any) -> Celery:
    settings = get_settings()
    app = Celery(f"newsflow-{service}", include=include or [])
    app.conf.update(base_config(settings))
    app.conf.update(overrides)
    # Every worker reports whether its pool can work (shared/worker_health.py).
    app.steps["consumer"].add(heartbeat_step(service, settings))

    @signals.worker_ready.connect(weak=False)
    def _start_outbox_sweeper(**_: Any) -> None:
        from shared.outbox import start_sweeper
        from shared.status import redis_client

        start_sweeper(app, redis_client(settings.redis_url), settings.visibility_timeout)

    @signals.setup_logging.connect(weak=False)
    def _setup_logging(**_: Any) -> None:
        configure_logging(service, settings.log_level, settings.log_json)

    # worker_init comes before Celery sets up logging (setup_logging): without this, what the
    # workers log while they start (models loaded, their RSS, the queues served) is dropped.
    # Connected here, before any worker module connects its own worker_init handler.
    signals.worker_init.connect(_setup_logging, weak=False)

    return app


def _article_id_from(args: Any) -> str | None:
    if args and isinstance(args[0], dict):
        value = args[0].get("id")
        return value if isinstance(value, str) else None
    return None


@signals.task_prerun.connect(weak=False)
def _bind_article_id(args: Any = None, **_: Any) -> None:
    task_started()
    article_id_var.set(_article_id_from(args))


@signals.task_postrun.connect(weak=False)
def _unbind_article_id(**_: Any) -> None:
    article_id_var.set(None)
    task_finished()


# Pool processes forked from now on ignore a soft time limit that arrives between tasks.
install_soft_timeout_guard()
