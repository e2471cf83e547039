"""The delivery task: one attempt at one webhook delivery, then the next one scheduled.

The task body is thin: deliver_impl locks the delivery's row (another worker holding it
makes this message a no-op), checks the URL again (DNS rebinding), POSTs through
delivery.post and records the attempt; the task turns "try again in N s" into a Celery
retry with that countdown. PostgreSQL or Redis unreachable is not an attempt: the
message is retried with the pipeline's backoff until they are back.
"""

import logging
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from services.webhooks.delivery import (
    Attempt,
    body_of,
    due,
    headers_for,
    jittered,
    next_step,
    post,
)
from services.webhooks.worker import app
from shared.db.session import make_engine
from shared.db.webhooks import lock_delivery, record_attempt
from shared.names import TASK_WEBHOOK_DELIVER
from shared.pipeline import TRANSIENT_ERRORS, backoff_seconds
from shared.settings import Settings, get_settings
from shared.urlguard import Resolver, UnsafeURLError, check_url, system_resolver

log = logging.getLogger(__name__)


@lru_cache
def session_factory() -> sessionmaker[Session]:
    # Created in the pool process that runs the task, never before the fork.
    return sessionmaker(make_engine(get_settings().database_url), expire_on_commit=False)


def deliver_impl(
    delivery_id: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    resolve: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> float | None:
    """Make the delivery's next attempt if it is due; the seconds to wait before the one
    after it, or None (delivered, failed for good, or nothing to do)."""
    with sessions.begin() as session:
        found = lock_delivery(session, delivery_id)
        if found is None:
            return None  # webhook deleted, or another worker is on it
        delivery, hook = found
        if not due(delivery.status, delivery.next_attempt_at, now):
            return None  # finished, or a duplicate message of a later retry
        body = body_of(delivery.payload)
        try:
            target = check_url(
                hook.url, allow_private=settings.webhook_allow_private_urls, resolve=resolve
            )
        except UnsafeURLError as exc:
            attempt = Attempt(ok=False, error=f"refused: {exc}"[:500])
        else:
            headers = headers_for(delivery.id, delivery.event, hook.secret, body, int(time.time()))
            attempt = post(target, body, headers, settings.webhook_timeout_seconds, transport)
        number = delivery.attempts + 1
        status, wait = next_step(
            number,
            attempt.ok,
            settings.webhook_max_attempts,
            settings.webhook_backoff_base_seconds,
            settings.webhook_backoff_max_seconds,
        )
        if wait is not None:
            wait = jittered(wait)
        record_attempt(
            session,
            delivery,
            status=status,
            status_code=attempt.status_code,
            error=attempt.error,
            now=now,
            next_attempt_at=now + timedelta(seconds=wait) if wait is not None else None,
        )
        log.info(
            "webhook delivery attempt",
            extra={
                "delivery_id": delivery.id,
                "webhook_id": hook.id,
                "attempt": number,
                "outcome": status,
                "status_code": attempt.status_code,
                "error": attempt.error,
                "retry_in_s": None if wait is None else round(wait, 1),
            },
        )
    return wait


class DeliverTask(Task):
    abstract = True
    acks_late = True
    # Attempts are counted in PostgreSQL (WEBHOOK_MAX_ATTEMPTS), not by Celery.
    max_retries = None


TRANSIENT: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, OperationalError, InterfaceError)


@app.task(bind=True, base=DeliverTask, name=TASK_WEBHOOK_DELIVER)
def deliver(self: DeliverTask, message: dict[str, Any]) -> None:
    settings = get_settings()
    try:
        wait = deliver_impl(
            str(message["delivery_id"]), session_factory(), settings, datetime.now(UTC)
        )
    except TRANSIENT as exc:
        countdown = backoff_seconds(self.request.retries, settings.retry_backoff_max)
        log.warning("webhook delivery postponed: backend unavailable", extra={"error": repr(exc)})
        raise self.retry(exc=exc, countdown=countdown) from exc
    if wait is not None:
        raise self.retry(countdown=wait)
