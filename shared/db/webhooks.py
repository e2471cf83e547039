"""SQL of the webhook tables: registrations (written by the gateway) and deliveries
(written by the webhooks worker). The article tables stay the storage stage's alone."""

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.db.models import Webhook, WebhookDelivery

PENDING = "pending"  # no attempt yet
RETRYING = "retrying"  # attempted, failed, another attempt is scheduled
DELIVERED = "delivered"
FAILED = "failed"  # WEBHOOK_MAX_ATTEMPTS attempts failed
DELIVERY_STATUSES = (PENDING, RETRYING, DELIVERED, FAILED)
UNFINISHED = (PENDING, RETRYING)


def new_id() -> str:
    return secrets.token_hex(16)


# --- registrations ----------------------------------------------------------------------


def create_webhook(session: Session, url: str, events: list[str], secret: str) -> Webhook:
    hook = Webhook(id=new_id(), url=url, events=events, secret=secret)
    session.add(hook)
    session.flush()
    session.refresh(hook)  # created_at, from the database
    return hook


def list_webhooks(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(Webhook.created_at, Webhook.id)))


def get_webhook(session: Session, webhook_id: str) -> Webhook | None:
    return session.get(Webhook, webhook_id)


def delete_webhook(session: Session, webhook_id: str) -> bool:
    """Delete it and its deliveries; False when there was none."""
    deleted = session.execute(delete(Webhook).where(Webhook.id == webhook_id).returning(Webhook.id))
    return deleted.first() is not None


# --- deliveries -------------------------------------------------------------------------


def wanted_events(session: Session) -> set[str]:
    """The events some webhook wants (one query: the dispatcher asks once per batch)."""
    return {event for events in session.scalars(select(Webhook.events)) for event in events}


def add_deliveries(
    session: Session,
    event_id: str,
    status: str,
    article_id: str,
    payload_for: Callable[[str], dict[str, Any]],
    now: datetime,
) -> list[str]:
    """One delivery per webhook that wants `status`, for the event `event_id`; the ids of
    this event's deliveries not attempted yet (to send). An event handled twice (the
    dispatcher died before it acknowledged it) makes no second delivery, and its
    unattempted ones are sent again (an attempt locks its row: one runs)."""
    hooks = session.scalars(select(Webhook.id).where(Webhook.events.contains([status]))).all()
    for webhook_id in hooks:
        delivery_id = new_id()
        session.execute(
            insert(WebhookDelivery)
            .values(
                id=delivery_id,
                webhook_id=webhook_id,
                event_id=event_id,
                event=status,
                article_id=article_id,
                payload=payload_for(delivery_id),
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
            )
            .on_conflict_do_nothing(constraint="uq_webhook_deliveries_webhook_event")
        )
    return list(
        session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.event_id == event_id,
                WebhookDelivery.status == PENDING,
                WebhookDelivery.attempts == 0,
            )
        )
    )


def lock_delivery(session: Session, delivery_id: str) -> tuple[WebhookDelivery, Webhook] | None:
    """The delivery and its webhook, the delivery's row locked for this transaction; None
    when it is gone (webhook deleted) or another worker holds it (SKIP LOCKED)."""
    row = session.execute(
        select(WebhookDelivery, Webhook)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.id == delivery_id)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    ).first()
    return (row[0], row[1]) if row is not None else None


def record_attempt(
    session: Session,
    delivery: WebhookDelivery,
    *,
    status: str,
    status_code: int | None,
    error: str | None,
    now: datetime,
    next_attempt_at: datetime | None,
) -> None:
    delivery.attempts += 1
    delivery.status = status
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.updated_at = now
    delivery.next_attempt_at = next_attempt_at
    if status == DELIVERED:
        delivery.delivered_at = now


def list_deliveries(
    session: Session, webhook_id: str, status: str | None, limit: int
) -> list[WebhookDelivery]:
    """Newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return list(session.scalars(query.limit(limit)))


def delivery_counts(session: Session, webhook_id: str) -> dict[str, int]:
    """Deliveries per status, all attempts made, and deliveries that needed more than one."""
    rows = session.execute(
        select(
            WebhookDelivery.status,
            func.count(),
            func.coalesce(func.sum(WebhookDelivery.attempts), 0),
            func.count().filter(WebhookDelivery.attempts > 1),
        )
        .where(WebhookDelivery.webhook_id == webhook_id)
        .group_by(WebhookDelivery.status)
    ).all()
    counts = dict.fromkeys(DELIVERY_STATUSES, 0) | {"attempts": 0, "retried": 0, "deliveries": 0}
    for status, count, attempts, retried in rows:
        counts[status] = int(count)
        counts["deliveries"] += int(count)
        counts["attempts"] += int(attempts)
        counts["retried"] += int(retried)
    return counts


def claim_overdue(
    session: Session, overdue_before: datetime, now: datetime, limit: int
) -> list[str]:
    """Unfinished deliveries whose next attempt is older than `overdue_before` (their
    message was lost: a Redis restart, a purge); their next attempt is set to `now`, so
    each is claimed once per period."""
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status.in_(UNFINISHED),
                or_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.next_attempt_at < overdue_before,
                ),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).values(next_attempt_at=now)
        )
    return ids


def prune_deliveries(session: Session, before: datetime) -> int:
    """Delete finished deliveries created before `before`; how many."""
    deleted = session.execute(
        delete(WebhookDelivery)
        .where(
            and_(
                WebhookDelivery.status.in_((DELIVERED, FAILED)),
                WebhookDelivery.created_at < before,
            )
        )
        .returning(WebhookDelivery.id)
    )
    return len(deleted.all())
