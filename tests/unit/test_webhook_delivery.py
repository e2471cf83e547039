"""The webhooks worker's pure parts: signatures, the retry schedule, one HTTP attempt
(httpx's mock transport: nothing leaves the process) and the dispatcher's choices. The SQL
parts run in tests/integration/test_webhooks.py."""

import json

import httpx
import pytest

from services.webhooks.delivery import (
    body_of,
    due,
    headers_for,
    jittered,
    next_step,
    payload,
    post,
    retry_delay,
    schedule,
)
from services.webhooks.dispatch import handle
from services.webhooks.signing import SIGNATURE_HEADER, parse_header, sign, verify
from shared.events import Event, event_fields
from shared.urlguard import Target, check_url
from tests.e2e.webhook_receiver import verify as receiver_verify

SECRET = "a-secret-of-some-length"
NOW = 1_800_000_000
BODY = b'{"event":"stored","id":"d1"}'


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


# --- signatures ---------------------------------------------------------------------------


def test_a_signature_verifies() -> None:
    header = sign(SECRET, NOW, BODY)
    assert header.startswith(f"t={NOW},v1=")
    assert verify(SECRET, BODY, header, now=NOW)
    assert verify(SECRET, BODY, header, now=NOW + 299)


@pytest.mark.parametrize(
    "body",
    [b'{"event":"stored","id":"d2"}', BODY + b" ", BODY[:-1], b""],
)
def test_a_tampered_body_fails(body: bytes) -> None:
    assert not verify(SECRET, body, sign(SECRET, NOW, BODY), now=NOW)


def test_another_secret_or_a_changed_timestamp_fails() -> None:
    header = sign(SECRET, NOW, BODY)
    assert not verify("another-secret-entirely", BODY, header, now=NOW)
    forged = header.replace(f"t={NOW}", f"t={NOW + 60}")  # replayed with a fresh time
    assert not verify(SECRET, BODY, forged, now=NOW + 60)


def test_an_old_or_future_signature_is_a_replay() -> None:
    header = sign(SECRET, NOW, BODY)
    assert not verify(SECRET, BODY, header, now=NOW + 301)
    assert not verify(SECRET, BODY, header, now=NOW - 301)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", f"t={NOW}", "garbage"])
def test_a_malformed_header_fails(header: str) -> None:
    assert not verify(SECRET, BODY, header, now=NOW)


def test_any_of_several_signatures_may_match() -> None:
    good = sign(SECRET, NOW, BODY).split(",v1=")[1]
    assert parse_header(f"t={NOW},v1=00,v1={good}") == (NOW, ["00", good])
    assert verify(SECRET, BODY, f"t={NOW},v1=00,v1={good}", now=NOW)


def test_the_e2e_receiver_verifies_what_newsflow_signs() -> None:
    # tests/e2e/webhook_receiver.py checks signatures on its own, as the README shows.
    header = sign(SECRET, NOW, BODY)
    assert receiver_verify(SECRET, BODY, header, now=NOW)
    assert not receiver_verify(SECRET, BODY + b"x", header, now=NOW)
    assert not receiver_verify(SECRET, BODY, header, now=NOW + 400)


# --- retries --------------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [retry_delay(n, 10, 60) for n in range(1, 7)] == [10, 20, 40, 60, 60, 60]
    assert schedule(5, 1, 8) == [1, 2, 4, 8]
    assert schedule(1, 1, 8) == []
    assert retry_delay(500, 10, 1800) == 1800  # no overflow on a long run
    with pytest.raises(ValueError):
        retry_delay(0, 10, 60)


def test_jitter_only_shortens_a_wait_and_by_a_tenth_at_most() -> None:
    assert jittered(100, rng=lambda: 0.0) == 100
    assert jittered(100, rng=lambda: 1.0) == pytest.approx(90)
    assert 90 <= jittered(100) <= 100


def test_after_an_attempt() -> None:
    assert next_step(1, True, 3, 10, 60) == ("delivered", None)
    assert next_step(1, False, 3, 10, 60) == ("retrying", 10)
    assert next_step(2, False, 3, 10, 60) == ("retrying", 20)
    assert next_step(3, False, 3, 10, 60) == ("failed", None)
    assert next_step(3, True, 3, 10, 60) == ("delivered", None)


def test_only_a_due_delivery_is_attempted() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert due("pending", now, now)
    assert due("retrying", now - timedelta(seconds=1), now)
    assert due("retrying", now + timedelta(seconds=1), now)  # a clock a little ahead
    assert not due("retrying", now + timedelta(seconds=60), now)  # a duplicate message
    assert not due("delivered", None, now)
    assert not due("failed", None, now)


# --- one attempt ----------------------------------------------------------------------------


def target(*addresses: str) -> Target:
    return check_url("https://hooks.example.com/in", resolve=resolver(*addresses))


def test_a_delivery_is_signed_pinned_and_named() -> None:
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    headers = headers_for("d1", "stored", SECRET, BODY, NOW)
    attempt = post(target("93.184.216.34"), BODY, headers, 5, httpx.MockTransport(receiver))
    assert attempt.ok and attempt.status_code == 204
    [request] = seen
    assert request.url.host == "93.184.216.34"  # the checked address, not a new lookup
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers["newsflow-delivery"] == "d1"
    assert request.headers["newsflow-event"] == "stored"
    assert request.content == BODY
    assert verify(SECRET, request.content, request.headers[SIGNATURE_HEADER], now=NOW)


@pytest.mark.parametrize("code", [301, 400, 410, 429, 500, 503])
def test_any_other_status_is_a_failed_attempt(code: int) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(code))
    attempt = post(target("93.184.216.34"), BODY, {}, 5, transport)
    assert (attempt.ok, attempt.status_code, attempt.error) == (False, code, f"HTTP {code}")


def test_an_unreachable_address_gives_way_to_the_next() -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.host == "93.184.216.34":
            raise httpx.ConnectError("Connection refused")
        return httpx.Response(200)

    two = target("93.184.216.34", "93.184.216.35")
    attempt = post(two, BODY, {}, 5, httpx.MockTransport(flaky))
    assert attempt.ok

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    failed = post(target("93.184.216.34"), BODY, {}, 5, httpx.MockTransport(down))
    assert not failed.ok and failed.status_code is None
    assert failed.error == "ConnectError: Connection refused"


def test_the_body_is_the_same_bytes_at_every_attempt() -> None:
    ev = Event.model_validate(
        {"article_id": "a1", "status": "stored", "stage": "storage", "at": "2026-11-30T12:00:00Z"}
    )
    content = payload("d1", "1-0", ev)
    assert content["id"] == "d1" and content["event"] == "stored" and content["event_id"] == "1-0"
    assert content["data"]["article_id"] == "a1"
    reordered = json.loads(json.dumps(dict(reversed(list(content.items())))))
    assert body_of(content) == body_of(reordered)  # as PostgreSQL's JSONB may give it back


# --- the dispatcher ------------------------------------------------------------------------------


def entry(entry_id: str, status: str) -> tuple[str, dict[str, str]]:
    ev = Event.model_validate(
        {"article_id": "a1", "status": status, "stage": "x", "at": "2026-11-30T12:00:00Z"}
    )
    return entry_id, event_fields(ev)


def test_only_final_events_make_deliveries_and_every_entry_is_acknowledged() -> None:
    added: list[tuple[str, str]] = []
    sent: list[str] = []

    def add(event_id: str, ev: Event) -> list[str]:
        added.append((event_id, ev.status))
        return [f"delivery-of-{event_id}"]

    entries = [entry("1-0", "queued"), entry("2-0", "stored"), entry("3-0", "failed")]
    entries.append(("4-0", {"garbage": "1"}))  # unreadable: skipped, not retried forever
    acked = handle(entries, add, sent.append)
    assert acked == ["1-0", "2-0", "3-0", "4-0"]
    assert added == [("2-0", "stored"), ("3-0", "failed")]
    assert sent == ["delivery-of-2-0", "delivery-of-3-0"]


def test_the_dispatcher_asks_postgresql_once_per_batch_and_only_for_wanted_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch of events costs one lookup of what the webhooks want; an event none wants
    costs no delivery transaction; abandoned entries are claimed on the first round, not
    on every one."""
    from contextlib import nullcontext
    from datetime import UTC, datetime
    from typing import Any

    from services.webhooks import dispatch

    at = datetime(2026, 11, 30, tzinfo=UTC)
    events = [
        ("1-0", event_fields(Event(article_id="a" * 32, status="ingested", stage="ingest", at=at))),
        ("2-0", event_fields(Event(article_id="a" * 32, status="stored", stage="storage", at=at))),
        ("3-0", event_fields(Event(article_id="b" * 32, status="failed", stage="entities", at=at))),
    ]

    class Redis:
        def __init__(self) -> None:
            self.claims = 0
            self.acked: list[str] = []

        def xautoclaim(self, *args: Any, **kwargs: Any) -> list[Any]:
            self.claims += 1
            return ["0-0", [], []]

        def xreadgroup(self, *args: Any, **kwargs: Any) -> list[Any]:
            return [["newsflow:events", events]]

        def xack(self, stream: str, group: str, *ids: str) -> int:
            self.acked += ids
            return len(ids)

    lookups: list[int] = []
    monkeypatch.setattr(dispatch, "wanted_events", lambda session: lookups.append(1) or {"stored"})
    client = Redis()
    dispatcher = dispatch.Dispatcher(
        app=None,  # type: ignore[arg-type]
        client=client,  # type: ignore[arg-type]
        sessions=type("S", (), {"begin": staticmethod(nullcontext)})(),  # type: ignore[arg-type]
        settings=None,  # type: ignore[arg-type]
        consumer="test",
    )
    added: list[str] = []
    monkeypatch.setattr(dispatcher, "add", lambda eid, ev: added.append(eid) or [])
    monkeypatch.setattr(dispatcher, "sweep", lambda: None)
    assert dispatcher.step() == 3
    assert added == ["2-0"]  # `failed` is wanted by no webhook, `ingested` is not final
    assert lookups == [1] and client.acked == ["1-0", "2-0", "3-0"]
    dispatcher.step()
    assert client.claims == 1  # not claimed again until CLAIM_EVERY_S has passed
