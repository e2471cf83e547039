"""Webhook deliveries in real PostgreSQL: one per webhook and event, each attempt recorded,
retries scheduled and finally `failed`, lost messages swept. HTTP goes to httpx's mock
transport and names to a stub resolver: nothing leaves the process."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from services.webhooks.delivery import payload
from services.webhooks.signing import verify
from services.webhooks.tasks import deliver_impl
from shared.db.session import make_session_factory
from shared.db.webhooks import (
    add_deliveries,
    claim_overdue,
    create_webhook,
    delete_webhook,
    delivery_counts,
    list_deliveries,
    lock_delivery,
    prune_deliveries,
)
from shared.events import Event
from shared.settings import Settings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECRET = "integration-secret-0123"
SETTINGS = Settings(
    webhook_max_attempts=3,
    webhook_backoff_base_seconds=10,
    webhook_backoff_max_seconds=40,
    webhook_allow_private_urls=False,
)


def public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


@pytest.fixture()
def hooks_db(engine: Engine) -> sessionmaker[Session]:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE webhooks CASCADE"))
    return make_session_factory(engine)


def stored(article: str = "a1") -> Event:
    return Event(article_id=article, status="stored", stage="storage", at=NOW)


def add(sessions: sessionmaker[Session], event_id: str, ev: Event) -> list[str]:
    with sessions.begin() as session:
        return add_deliveries(
            session,
            event_id,
            ev.status,
            ev.article_id,
            lambda delivery_id: payload(delivery_id, event_id, ev),
            NOW,
        )


def hook(
    sessions: sessionmaker[Session], events: list[str], url: str = "https://h.example/in"
) -> str:
    with sessions.begin() as session:
        return create_webhook(session, url, events, SECRET).id


class Receiver:
    """A mock transport answering with the given statuses in turn (then the last one)."""

    def __init__(self, *codes: int) -> None:
        self.codes = list(codes)
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            code = self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]
            return httpx.Response(code)

        return httpx.MockTransport(answer)


def attempt(
    sessions: sessionmaker[Session],
    delivery_id: str,
    receiver: Receiver,
    now: datetime = NOW,
    resolve: Callable[[str, int], list[str]] = public,
) -> float | None:
    return deliver_impl(delivery_id, sessions, SETTINGS, now, resolve, receiver.transport())


def row(sessions: sessionmaker[Session], webhook_id: str) -> Any:
    with sessions() as session:
        [found] = list_deliveries(session, webhook_id, None, 10)
        return found


def test_one_delivery_per_interested_webhook_and_event(hooks_db: sessionmaker[Session]) -> None:
    both = hook(hooks_db, ["stored", "failed"])
    only_stored = hook(hooks_db, ["stored"])
    hook(hooks_db, ["failed"])
    first = add(hooks_db, "100-0", stored())
    assert len(first) == 2
    again = add(hooks_db, "100-0", stored())  # the dispatcher handled it twice
    assert sorted(again) == sorted(first)
    with hooks_db() as session:
        assert delivery_counts(session, both)["deliveries"] == 1
        assert delivery_counts(session, only_stored)["pending"] == 1
        body = list_deliveries(session, both, None, 10)[0].payload
    assert body["event"] == "stored" and body["event_id"] == "100-0"
    assert body["data"]["article_id"] == "a1"


def test_a_delivery_is_signed_and_delivered(hooks_db: sessionmaker[Session]) -> None:
    webhook = hook(hooks_db, ["stored"])
    [delivery] = add(hooks_db, "100-0", stored())
    receiver = Receiver(204)
    assert attempt(hooks_db, delivery, receiver) is None
    [request] = receiver.requests
    assert request.headers["newsflow-delivery"] == delivery
    assert verify(
        SECRET, request.content, request.headers["newsflow-signature"], now=request_time(request)
    )
    found = row(hooks_db, webhook)
    assert (found.status, found.attempts, found.last_status_code) == ("delivered", 1, 204)
    assert found.delivered_at == NOW
    assert attempt(hooks_db, delivery, receiver) is None  # a duplicate message: no new POST
    assert len(receiver.requests) == 1


def request_time(request: httpx.Request) -> int:
    return int(request.headers["newsflow-signature"].split(",")[0][2:])


def test_failures_are_retried_with_backoff_then_marked_failed(
    hooks_db: sessionmaker[Session],
) -> None:
    webhook = hook(hooks_db, ["stored"])
    [delivery] = add(hooks_db, "100-0", stored())
    receiver = Receiver(500, 503, 502)
    wait = attempt(hooks_db, delivery, receiver)
    assert wait is not None and 9 <= wait <= 10  # base, shortened by jitter at most 10%
    found = row(hooks_db, webhook)
    assert (found.status, found.attempts, found.last_error) == ("retrying", 1, "HTTP 500")
    assert found.next_attempt_at == NOW + timedelta(seconds=wait)

    # The same message again before its time (a duplicate): nothing is attempted.
    assert attempt(hooks_db, delivery, receiver) is None
    assert len(receiver.requests) == 1

    later = found.next_attempt_at
    wait = attempt(hooks_db, delivery, receiver, now=later)
    assert wait is not None and 18 <= wait <= 20
    later = row(hooks_db, webhook).next_attempt_at
    assert attempt(hooks_db, delivery, receiver, now=later) is None  # the third and last
    found = row(hooks_db, webhook)
    assert (found.status, found.attempts, found.last_status_code) == ("failed", 3, 502)
    assert found.next_attempt_at is None
    with hooks_db() as session:
        counts = delivery_counts(session, webhook)
    assert counts == {
        "pending": 0, "retrying": 0, "delivered": 0, "failed": 1,
        "attempts": 3, "retried": 1, "deliveries": 1,
    }  # fmt: skip


def test_a_receiver_back_up_gets_the_delivery(hooks_db: sessionmaker[Session]) -> None:
    webhook = hook(hooks_db, ["stored"])
    [delivery] = add(hooks_db, "100-0", stored())
    receiver = Receiver(503, 200)
    wait = attempt(hooks_db, delivery, receiver)
    assert wait is not None
    assert attempt(hooks_db, delivery, receiver, now=NOW + timedelta(seconds=wait)) is None
    found = row(hooks_db, webhook)
    assert (found.status, found.attempts) == ("delivered", 2)


def test_a_url_now_resolving_to_a_private_address_is_not_called(
    hooks_db: sessionmaker[Session],
) -> None:
    webhook = hook(hooks_db, ["stored"])
    [delivery] = add(hooks_db, "100-0", stored())
    receiver = Receiver(200)
    wait = attempt(hooks_db, delivery, receiver, resolve=lambda host, port: ["10.0.0.9"])
    assert wait is not None  # DNS may change back: retried like any failure
    assert receiver.requests == []
    assert row(hooks_db, webhook).last_error.startswith("refused: ")


def test_a_deleted_webhook_takes_its_deliveries_along(hooks_db: sessionmaker[Session]) -> None:
    webhook = hook(hooks_db, ["stored"])
    [delivery] = add(hooks_db, "100-0", stored())
    with hooks_db.begin() as session:
        assert delete_webhook(session, webhook)
        assert not delete_webhook(session, webhook)
    receiver = Receiver(200)
    assert attempt(hooks_db, delivery, receiver) is None
    assert receiver.requests == []


def test_a_locked_delivery_is_skipped(hooks_db: sessionmaker[Session]) -> None:
    hook(hooks_db, ["stored"])
    [delivery] = add(hooks_db, "100-0", stored())
    with hooks_db.begin() as holder:
        assert lock_delivery(holder, delivery) is not None
        receiver = Receiver(200)
        assert attempt(hooks_db, delivery, receiver) is None  # another worker has it
        assert receiver.requests == []


def test_lost_messages_are_swept_once_per_period(hooks_db: sessionmaker[Session]) -> None:
    hook(hooks_db, ["stored"])
    [delivery] = add(hooks_db, "100-0", stored())
    with hooks_db.begin() as session:
        assert claim_overdue(session, NOW - timedelta(minutes=1), NOW, 10) == []  # not yet
        assert claim_overdue(session, NOW + timedelta(minutes=1), NOW, 10) == [delivery]
    with hooks_db.begin() as session:
        assert claim_overdue(session, NOW - timedelta(seconds=1), NOW, 10) == []


def test_finished_deliveries_are_pruned(hooks_db: sessionmaker[Session]) -> None:
    webhook = hook(hooks_db, ["stored"])
    [done] = add(hooks_db, "100-0", stored("a1"))
    add(hooks_db, "101-0", stored("a2"))
    attempt(hooks_db, done, Receiver(200))
    with hooks_db.begin() as session:
        assert prune_deliveries(session, datetime.now(UTC) + timedelta(days=1)) == 1
    with hooks_db() as session:
        assert delivery_counts(session, webhook)["pending"] == 1
