"""The base task every stage uses: retries for transient errors, a recorded failure otherwise."""

import logging
from typing import Any, ClassVar

import redis.exceptions
from celery import Celery, Task
from kombu.exceptions import OperationalError as KombuOperationalError

from shared.envelope import ArticleEnvelope
from shared.ids import task_id
from shared.names import TASK_STORE_FAILURE
from shared.settings import get_settings
from shared.status import StatusStore, redis_client

log = logging.getLogger(__name__)

# Errors that say "try again later", not "this article is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    KombuOperationalError,
    ConnectionError,
    TimeoutError,
)


def failure_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


class PipelineTask(Task):
    """Thin wrapper: subclasses set `stage`; the task body calls a pure *_impl function."""

    abstract = True
    stage: ClassVar[str] = "unknown"
    acks_late = True
    autoretry_for: ClassVar[tuple[type[BaseException], ...]] = TRANSIENT_ERRORS
    retry_backoff = True
    retry_jitter = True
    _status: StatusStore | None = None

    def __init__(self) -> None:
        settings = get_settings()
        self.max_retries = settings.max_retries
        self.retry_backoff_max = settings.retry_backoff_max

    @property
    def status(self) -> StatusStore:
        if self._status is None:
            settings = get_settings()
            self._status = StatusStore(
                redis_client(settings.redis_url), settings.status_ttl_seconds
            )
        return self._status

    def dispatch(self, task_name: str, envelope: ArticleEnvelope) -> None:
        """Send the next stage by name: stages never import each other."""
        app: Celery = self.app
        app.send_task(task_name, args=[envelope.to_message()], task_id=task_id(envelope.id))

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        # Permanent error, or transient ones that outlived their retries: the article
        # ends `failed` with its stage and reason, never silently dropped.
        message = args[0] if args and isinstance(args[0], dict) else {}
        article_id = message.get("id")
        if not isinstance(article_id, str):
            log.error("task failed without an article id", extra={"task_id": task_id})
            return
        reason = failure_reason(exc)
        log.error("stage failed", extra={"stage": self.stage, "reason": reason, "task_id": task_id})
        try:
            self.status.set_failed(article_id, self.stage, reason)
        except redis.exceptions.RedisError:
            log.exception("could not record failure status in Redis")
        try:
            self.app.send_task(
                TASK_STORE_FAILURE,
                args=[
                    {"id": article_id, "stage": self.stage, "reason": reason, "message": message}
                ],
            )
        except Exception:
            log.exception("could not send the failure to storage")
