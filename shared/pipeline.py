"""The base task every stage uses: how an article is retried, and how it ends `failed`.

- Transient errors (Redis, PostgreSQL or the network unavailable) are retried with
  exponential backoff and jitter, up to MAX_RETRIES.
- Any other error (a bug, bad data, a soft time limit) gets MAX_ATTEMPTS attempts.
- A delivery that never finishes (the worker was SIGKILLed or ran out of memory) is
  redelivered by Redis (acks_late + reject_on_worker_lost); a count kept in Redis per
  article and stage stops a message that kills its worker every time from looping forever.
- When it gives up, the article ends `failed` with {stage, reason, attempts,
  last_error_at}: in Redis at once, and in PostgreSQL (the dead-letter list) through the
  storage queue, with the message it failed on, so an operator can re-drive it.
- Every attempt adds its processing time and outcome to the pipeline's metrics in Redis
  (shared/metrics.py): one round trip, and never an error of the task's own.
"""

import logging
import random
import time
from datetime import UTC, datetime
from typing import Any, ClassVar, NoReturn

import redis.exceptions
from celery import Task
from celery.exceptions import Reject, Retry
from kombu.exceptions import OperationalError as KombuOperationalError

from shared import metrics, outbox
from shared.envelope import ArticleEnvelope, FailureRecord, Status
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

DELIVERIES_PREFIX = "newsflow:deliveries:"
RECORD_FAILURE_PAUSES = (1, 2, 4, 8, 15)


class PoisonMessageError(RuntimeError):
    """Earlier deliveries of this article to this stage never finished."""


def failure_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def backoff_seconds(retries: int, cap: int) -> float:
    """Exponential backoff with full jitter: spreads a thundering herd after an outage."""
    return random.uniform(0, min(cap, 2**retries))


def deliveries_key(article_id: str, stage: str) -> str:
    return f"{DELIVERIES_PREFIX}{article_id}:{stage}"


def article_id_of(args: Any) -> str | None:
    if args and isinstance(args[0], dict) and isinstance(args[0].get("id"), str):
        return str(args[0]["id"])
    return None


class PipelineTask(Task):
    """Thin wrapper: subclasses set `stage`; the task body calls a pure *_impl function."""

    abstract = True
    stage: ClassVar[str] = "unknown"
    acks_late = True
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = TRANSIENT_ERRORS
    _status: StatusStore | None = None
    # Which delivery of its message the running attempt is (1 unless an earlier one never
    # finished: its worker died); set when the attempt starts.
    delivery: int = 1

    @property
    def status(self) -> StatusStore:
        if self._status is None:
            settings = get_settings()
            self._status = StatusStore(
                redis_client(settings.redis_url),
                settings.status_ttl_seconds,
                settings.events_retention_minutes,
            )
        return self._status

    def article_counts(self, outcome: str) -> dict[str, int]:
        """What an attempt that ended with `outcome` adds to the article counters of the
        metrics: an attempt that gives up ends the article failed at this stage."""
        return {metrics.failed_field(self.stage): 1} if outcome == metrics.OUTCOME_FAILED else {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        settings = get_settings()
        article_id = article_id_of(args)
        counted: str | None = None  # the deliveries key, once counted up
        self.delivery = 1
        started = time.perf_counter()
        outcome = metrics.OUTCOME_RETRY  # unless it succeeds, or gives up below
        try:
            if article_id is not None:
                # One round trip: the message arrived (nothing to re-send from the outbox),
                # and this delivery is counted up; it is counted down on any end the process
                # lives to see, so what is left over are deliveries whose worker died mid-task.
                key = deliveries_key(article_id, self.stage)
                pipe = self.status.client.pipeline(transaction=False)
                pipe.delete(outbox.outbox_key(article_id, self.name))
                pipe.incr(key)
                pipe.expire(key, settings.visibility_timeout * (settings.max_deliveries + 2))
                deliveries = int(pipe.execute()[1])
                counted = key
                self.delivery = deliveries
                if deliveries > settings.max_deliveries:
                    raise PoisonMessageError(
                        f"{deliveries - 1} deliveries never finished "
                        "(worker killed or out of memory)"
                    )
            result = super().__call__(*args, **kwargs)
            outcome = metrics.OUTCOME_OK
            return result
        except Retry:
            raise
        except PoisonMessageError:
            outcome = metrics.OUTCOME_FAILED
            raise
        except self.transient_errors as exc:
            self._retry(exc, settings.max_retries, "transient error, retrying")
        except Exception as exc:
            if self.request.retries + 1 >= settings.max_attempts:
                outcome = metrics.OUTCOME_FAILED  # on_failure records the article failed
                raise
            self._retry(exc, settings.max_attempts - 1, "stage error, trying again")
        finally:
            if article_id is not None:
                # One round trip: the delivery counted down, and the attempt's metrics.
                metrics.record_attempt(
                    self.status.client,
                    self.stage,
                    time.perf_counter() - started,
                    outcome,
                    self.article_counts(outcome),
                    count_down=counted,
                )

    def _retry(self, exc: BaseException, max_retries: int, what: str) -> NoReturn:
        settings = get_settings()
        countdown = backoff_seconds(self.request.retries, settings.retry_backoff_max)
        log.warning(
            what,
            extra={
                "stage": self.stage,
                "reason": failure_reason(exc),
                "attempt": self.request.retries + 1,
                "countdown_s": round(countdown, 1),
            },
        )
        try:
            raise self.retry(exc=exc, countdown=countdown, max_retries=max_retries) from exc
        except Retry:
            raise
        except (Reject, *self.transient_errors) as broker_down:
            # The broker itself is unreachable, so no retry can be scheduled. Celery then
            # rejects the message WITHOUT requeue, which would lose the article: hand it
            # back instead (acks_late); Redis redelivers it once it is back.
            reason = broker_down.reason if isinstance(broker_down, Reject) else broker_down
            raise Reject(str(reason), requeue=True) from exc

    def advance(
        self,
        envelope: ArticleEnvelope,
        status: Status,
        next_task: str,
        *,
        queue: str | None = None,
        **fields: str,
    ) -> None:
        """Record this stage's outcome and the next stage's outbox entry (one transaction,
        one round trip), then hand the envelope to the next stage (to `queue` when given,
        else to the task's own queue)."""
        settings = get_settings()
        message = envelope.to_message()
        self.status.set_status(
            envelope.id,
            status,
            also=lambda pipe: outbox.write(
                pipe, next_task, message, envelope.id, settings.status_ttl_seconds, queue
            ),
            **fields,
        )
        outbox.send_to_queue(self.app, next_task, message, envelope.id, queue)

    def on_failure(
        self, exc: BaseException, task_id_: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        # Permanent error, or one that outlived its retries: the article ends `failed`
        # with its stage and reason, never silently dropped.
        message = args[0] if args and isinstance(args[0], dict) else {}
        article_id = article_id_of(args)
        if article_id is None:
            log.error("task failed without an article id", extra={"task_id": task_id_})
            return
        reason = failure_reason(exc)
        attempts = (self.request.retries or 0) + 1
        failed_at = datetime.now(UTC)
        log.error(
            "stage failed",
            extra={"stage": self.stage, "reason": reason, "attempts": attempts},
        )
        failure = FailureRecord(
            id=article_id,
            stage=self.stage,
            reason=reason,
            attempts=attempts,
            failed_at=failed_at,
            message=message,
        ).model_dump(mode="json")

        def record() -> None:
            self.status.set_failed(article_id, self.stage, reason, attempts=attempts)
            self.status.client.delete(deliveries_key(article_id, self.stage))
            outbox.send(
                self.app,
                self.status.client,
                TASK_STORE_FAILURE,
                failure,
                article_id,
                get_settings().status_ttl_seconds,
            )

        # Recording the failure is what keeps the article from being lost: ride out a
        # short Redis outage (a restart) rather than give up at once.
        for pause in (*RECORD_FAILURE_PAUSES, None):
            try:
                record()
                return
            except self.transient_errors:
                if pause is None:
                    log.exception("could not record the failure")
                    return
                time.sleep(pause)
