"""Live events: their shape and ids (shared/events.py), and the SSE generators and routes
(services/gateway/events.py, routes/events.py) over an in-memory event source.

The Lua script that publishes an event with each status is run against real Redis in
tests/integration/test_events.py."""

import asyncio
import json
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import redis.exceptions
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.events import (
    START,
    StreamSlots,
    all_events,
    article_events,
    final_event,
    sse,
)
from services.gateway.schemas import (
    Article,
    ArticleInFlight,
    ArticleMetadata,
    Failure,
)
from shared.events import (
    FINAL,
    PUBLISHED_FIELD,
    STREAM,
    Event,
    event_fields,
    is_after,
    matches,
    min_id,
    missed_since,
    parse_fields,
    parse_stream_id,
    should_publish,
    stage_of,
)
from shared.status import PUBLISH_SCRIPT
from tests.unit.offline import KEY, offline_settings

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ARTICLE = "a" * 32
OTHER = "b" * 32
RUN = ["queued", "ingested", "language_detected", "entities_extracted", "stored"]

T = TypeVar("T")


def event(status: str, article: str = ARTICLE, reason: str | None = None) -> Event:
    return Event(
        article_id=article,
        status=status,
        stage=stage_of(status, "entities"),
        at=AT,
        reason=reason,
    )


class Exhausted(redis.exceptions.ConnectionError):
    """The fake source has nothing left to give: ends a live stream in a test."""


class FakeSource:
    """The stream in memory. `arrivals` are events appended, one batch per blocking read
    that finds nothing new: they come "live". A blocking read with nothing left raises
    Exhausted (a Redis error: the SSE response ends as it would when Redis goes away)."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.arrivals: list[list[Event]] = []
        self.max_deleted: str | None = None
        self.next_ms = 1000

    def add(self, ev: Event) -> str:
        entry_id = f"{self.next_ms}-0"
        self.next_ms += 1
        self.streams.setdefault(STREAM, []).append((entry_id, event_fields(ev)))
        return entry_id

    async def read(
        self, stream: str, after: str, count: int, block_ms: int | None
    ) -> list[tuple[str, dict[str, str]]]:
        newer = [e for e in self.streams.get(stream, []) if is_after(e[0], after)]
        if not newer and block_ms is not None:
            if not self.arrivals:
                raise Exhausted("no more events in this test")
            for ev in self.arrivals.pop(0):
                self.add(ev)
            newer = [e for e in self.streams.get(stream, []) if is_after(e[0], after)]
        return newer[:count]

    async def last(self, stream: str) -> tuple[str, dict[str, str]] | None:
        entries = self.streams.get(stream)
        return entries[-1] if entries else None

    async def history(self, article_id: str) -> list[tuple[str, dict[str, str]]]:
        return [e for e in self.streams.get(STREAM, []) if e[1]["article_id"] == article_id]

    async def max_deleted_id(self, stream: str) -> str | None:
        return self.max_deleted


def follow(
    source: FakeSource, after: str = START, article: str = ARTICLE
) -> AsyncGenerator[tuple[str, dict[str, str]], None]:
    """article_events as the route starts it: the stream's newest id, then the history."""

    async def run() -> AsyncGenerator[tuple[str, dict[str, str]], None]:
        newest = await source.last(STREAM)
        history = await source.history(article)
        async for entry in article_events(
            source, article, history, after, newest[0] if newest else START
        ):
            yield entry

    return run()


def collect(gen: AsyncGenerator[T, None], limit: int = 100) -> list[T]:
    async def run() -> list[T]:
        items: list[T] = []
        try:
            async for item in gen:
                items.append(item)
                if len(items) >= limit:
                    break
        except Exhausted:
            pass
        finally:
            await gen.aclose()
        return items

    return asyncio.run(run())


# --- shared/events.py -------------------------------------------------------------------


def test_each_status_names_the_stage_that_records_it() -> None:
    assert [stage_of(s) for s in RUN] == ["gateway", "ingest", "language", "entities", "storage"]
    assert stage_of("failed", "language") == "language"
    assert {"stored", "failed"} == FINAL


def test_an_event_survives_the_stream_and_omits_no_reason() -> None:
    failed = event("failed", reason="TextTooLongError: too long")
    assert parse_fields(event_fields(failed)) == failed
    assert "reason" not in event_fields(event("stored"))
    assert parse_fields(event_fields(event("stored"))) == event("stored")
    assert json.loads(failed.to_json())["reason"] == "TextTooLongError: too long"


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("1-0", (1, 0)), ("1700000000000-12", (1700000000000, 12)), ("42", (42, 0))],
)
def test_stream_ids_parse(value: str, parsed: tuple[int, int]) -> None:
    assert parse_stream_id(value) == parsed


@pytest.mark.parametrize("value", ["", "abc", "1-2-3", "-1", "1-", "1.5-0", "$", ">"])
def test_what_is_not_a_stream_id_is_refused(value: str) -> None:
    assert parse_stream_id(value) is None


def test_ids_compare_as_numbers_not_text() -> None:
    assert is_after("10-0", "9-99")
    assert is_after("5-1", "5-0")
    assert not is_after("5-0", "5-0")
    assert not is_after("9-99", "10-0")


def test_retention_sets_the_oldest_id_kept() -> None:
    assert min_id(10 * 60_000, 3) == f"{7 * 60_000}-0"
    assert min_id(1000, 60) == "0-0"


def test_a_gap_is_trimming_past_the_last_id_seen() -> None:
    assert missed_since("100-0", "150-3")
    assert not missed_since("150-3", "150-3")
    assert not missed_since("200-0", "150-3")
    assert not missed_since("100-0", None)
    assert not missed_since("100-0", "0-0")


def test_status_filter() -> None:
    assert matches(event("stored"), {"stored", "failed"})
    assert not matches(event("ingested"), {"stored", "failed"})
    assert matches(event("ingested"), None)
    assert matches(event("ingested"), set())


def test_a_status_is_published_once_per_run_and_queued_starts_a_run() -> None:
    assert should_publish("ingested", "|queued|")
    assert not should_publish("ingested", "|queued||ingested|")
    assert should_publish("queued", "|queued||ingested||failed|")  # a re-drive
    assert should_publish("stored", "")


def test_the_lua_script_keeps_the_same_rules() -> None:
    assert f"'{PUBLISHED_FIELD}'" in PUBLISH_SCRIPT
    assert "status == 'queued'" in PUBLISH_SCRIPT
    assert "'MINID', ARGV[2]" in PUBLISH_SCRIPT


# --- the generators ---------------------------------------------------------------------


def test_an_article_stream_replays_then_closes_after_its_final_event() -> None:
    source = FakeSource()
    ids = [source.add(event(s)) for s in RUN]
    source.add(event("ingested", OTHER))  # another article: not in this one's stream
    got = collect(follow(source))
    assert [entry_id for entry_id, _ in got] == ids
    assert [fields["status"] for _, fields in got] == RUN


def test_an_article_stream_follows_live_events_until_stored() -> None:
    source = FakeSource()
    source.add(event("queued"))
    source.arrivals = [[event("ingested")], [event("language_detected")], [event("stored")]]
    got = collect(follow(source))
    assert [f["status"] for _, f in got] == ["queued", "ingested", "language_detected", "stored"]


def test_an_article_stream_resumes_after_last_event_id() -> None:
    source = FakeSource()
    ids = [source.add(event(s)) for s in RUN]
    got = collect(follow(source, ids[1]))
    assert [entry_id for entry_id, _ in got] == ids[2:]


def test_live_events_of_other_articles_are_left_out() -> None:
    source = FakeSource()
    source.add(event("queued"))
    source.arrivals = [[event("ingested", OTHER), event("ingested")], [event("stored", OTHER)]]
    source.arrivals.append([event("stored")])
    got = collect(follow(source))
    assert [f["status"] for _, f in got] == ["queued", "ingested", "stored"]
    assert {f["article_id"] for _, f in got} == {ARTICLE}


def test_an_event_in_both_the_history_and_the_stream_is_sent_once() -> None:
    source = FakeSource()
    since = source.add(event("queued"))
    source.add(event("ingested"))  # recorded between the two reads of the route
    history = asyncio.run(source.history(ARTICLE))
    source.arrivals = [[event("stored")]]
    got = collect(article_events(source, ARTICLE, history, START, since))
    assert [f["status"] for _, f in got] == ["queued", "ingested", "stored"]


def test_a_redriven_article_goes_on_past_its_failure() -> None:
    source = FakeSource()
    for status in ["queued", "ingested", "failed", "queued", "language_detected"]:
        source.add(event(status))
    source.arrivals = [[event("entities_extracted"), event("stored")]]
    got = collect(follow(source))
    statuses = [f["status"] for _, f in got]
    assert statuses[-3:] == ["language_detected", "entities_extracted", "stored"]


def test_an_article_that_failed_last_closes_at_failed() -> None:
    source = FakeSource()
    for status in ["queued", "ingested", "failed"]:
        source.add(event(status))
    source.arrivals = [[event("queued")]]  # would only come if the stream stayed open
    got = collect(follow(source))
    assert [f["status"] for _, f in got] == ["queued", "ingested", "failed"]


def test_all_events_resume_after_the_id_and_filter_by_status() -> None:
    source = FakeSource()
    first = source.add(event("queued"))
    source.add(event("stored"))
    source.add(event("queued", OTHER))
    source.add(event("failed", OTHER, reason="boom"))
    got = collect(all_events(source, STREAM, first, {"stored", "failed"}))
    assert [(e.article_id, e.status) for _, e in got] == [(ARTICLE, "stored"), (OTHER, "failed")]
    everything = collect(all_events(source, STREAM, first, None))
    assert len(everything) == 3  # all after `first`, not `first` itself
    assert all(is_after(entry_id, first) for entry_id, _ in everything)


def test_all_events_keep_following_live() -> None:
    source = FakeSource()
    source.arrivals = [[event("queued")], [event("ingested")], [event("stored")]]
    got = collect(all_events(source, STREAM, START, {"stored"}))
    assert [e.status for _, e in got] == ["stored"]


def test_an_sse_message_carries_the_stream_id_and_the_event() -> None:
    text = sse("1700000000000-3", event("stored")).encode().decode()
    assert "id: 1700000000000-3\r\n" in text
    data = next(line for line in text.splitlines() if line.startswith("data: "))
    assert Event.model_validate_json(data[len("data: ") :]) == event("stored")


def metadata(stored_at: datetime | None) -> ArticleMetadata:
    return ArticleMetadata(
        source=None,
        url=None,
        external_id=None,
        published_at=None,
        received_at=None,
        stored_at=stored_at,
        content_hash=None,
        duplicate_of=None,
        dateline=None,
        removed=[],
    )


def article(status: str, error: Failure | None = None) -> Article:
    return Article(
        id=ARTICLE,
        status=status,
        title=None,
        text="t",
        metadata=metadata(AT),
        language=None,
        entities=[],
        entity_groups=[],
        entities_status=None,
        entities_reason=None,
        model=None,
        error=error,
    )


def test_a_final_event_is_rebuilt_from_the_record_when_the_stream_is_gone() -> None:
    stored = final_event(article("stored"))
    assert stored == Event(article_id=ARTICLE, status="stored", stage="storage", at=AT)
    failure = Failure(stage="entities", reason="OSError: x", attempts=3, last_error_at=AT)
    failed = final_event(article("failed", failure))
    assert failed is not None
    assert (failed.stage, failed.reason, failed.at) == ("entities", "OSError: x", AT)
    assert final_event(ArticleInFlight(id=ARTICLE, status="ingested")) is None


# --- the routes ---------------------------------------------------------------------------


class FakeGateway:
    def __init__(self, found: Article | ArticleInFlight | None) -> None:
        self.found = found

    def article(self, aid: str) -> Article | ArticleInFlight | None:
        return self.found if aid == ARTICLE else None


@pytest.fixture()
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture()
def client(source: FakeSource) -> Iterator[TestClient]:
    app = create_app(offline_settings())
    app.state.events = source
    app.state.gateway = FakeGateway(ArticleInFlight(id=ARTICLE, status="queued"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def messages(body: str) -> list[dict[str, Any]]:
    """The SSE messages of a body: {id, event, data} (pings are comments: skipped)."""
    found = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in {"id", "event", "data"}:
                fields[name] = json.loads(value) if name == "data" else value
        if "data" in fields:
            found.append(fields)
    return found


def test_article_events_over_http_reach_stored_then_close(
    client: TestClient, source: FakeSource
) -> None:
    ids = [source.add(event(s)) for s in RUN]
    answer = client.get(f"/articles/{ARTICLE}/events", headers=KEY)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    got = messages(answer.text)
    assert [m["id"] for m in got] == ids
    assert [m["data"]["status"] for m in got] == RUN
    assert got[-1]["data"]["stage"] == "storage"


def test_article_events_resume_after_last_event_id(client: TestClient, source: FakeSource) -> None:
    ids = [source.add(event(s)) for s in RUN]
    answer = client.get(f"/articles/{ARTICLE}/events", headers={**KEY, "Last-Event-ID": ids[2]})
    assert [m["id"] for m in messages(answer.text)] == ids[3:]


def test_reconnecting_after_the_final_event_is_told_to_stop(
    client: TestClient, source: FakeSource
) -> None:
    ids = [source.add(event(s)) for s in RUN]
    answer = client.get(f"/articles/{ARTICLE}/events", headers={**KEY, "Last-Event-ID": ids[-1]})
    assert answer.status_code == 204  # EventSource does not reconnect after a 204


def test_an_expired_article_stream_sends_the_final_event_once(
    client: TestClient, source: FakeSource
) -> None:
    client.app.state.gateway = FakeGateway(article("stored"))  # type: ignore[attr-defined]
    answer = client.get(f"/articles/{ARTICLE}/events", headers=KEY)
    [only] = messages(answer.text)
    assert only["data"]["status"] == "stored"
    again = client.get(f"/articles/{ARTICLE}/events", headers={**KEY, "Last-Event-ID": only["id"]})
    assert again.status_code == 204


def test_unknown_article_is_404_and_a_bad_last_event_id_422(client: TestClient) -> None:
    assert client.get(f"/articles/{OTHER}/events", headers=KEY).status_code == 404
    bad = client.get(f"/articles/{ARTICLE}/events", headers={**KEY, "Last-Event-ID": "x"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]


def test_all_events_filtered_by_status_over_http(client: TestClient, source: FakeSource) -> None:
    first = source.add(event("queued"))
    for status in RUN[1:]:
        source.add(event(status))
    source.add(event("failed", OTHER, reason="boom"))
    answer = client.get(
        "/events",
        params=[("status", "stored"), ("status", "failed")],
        headers={**KEY, "Last-Event-ID": first},
    )
    assert answer.status_code == 200
    got = messages(answer.text)
    assert [(m["data"]["article_id"], m["data"]["status"]) for m in got] == [
        (ARTICLE, "stored"),
        (OTHER, "failed"),
    ]


def test_all_events_without_last_event_id_start_now(client: TestClient, source: FakeSource) -> None:
    source.add(event("stored", OTHER))  # before the client came: not sent
    source.arrivals = [[event("queued")]]
    got = messages(client.get("/events", headers=KEY).text)
    assert [(m["data"]["article_id"], m["data"]["status"]) for m in got] == [(ARTICLE, "queued")]


def test_a_client_behind_the_retention_is_told_of_the_gap(
    client: TestClient, source: FakeSource
) -> None:
    source.add(event("stored"))
    source.max_deleted = "999-0"
    got = messages(client.get("/events", headers={**KEY, "Last-Event-ID": "500-0"}).text)
    assert got[0]["event"] == "gap"
    assert got[0]["data"]["last_event_id"] == "500-0"
    assert got[1]["data"]["status"] == "stored"


def test_unknown_status_is_422(client: TestClient) -> None:
    assert client.get("/events", params={"status": "done"}, headers=KEY).status_code == 422


def test_too_many_streams_is_503(client: TestClient) -> None:
    slots = StreamSlots(1)
    slots.enter()
    client.app.state.stream_slots = slots  # type: ignore[attr-defined]
    answer = client.get("/events", headers=KEY)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"


def test_a_closed_stream_frees_its_slot(client: TestClient, source: FakeSource) -> None:
    for status in RUN:
        source.add(event(status))
    client.get(f"/articles/{ARTICLE}/events", headers=KEY)
    client.get("/events", headers=KEY)  # ends when the fake source is exhausted
    assert client.app.state.stream_slots.open == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/events", f"/articles/{ARTICLE}/events"])
def test_event_streams_need_a_key(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 403


# --- publishing with the status (shared/status.py, on the fake Redis) -------------------------


def test_the_status_and_its_event_are_one_round_trip_once_per_run() -> None:
    from shared.envelope import Status
    from shared.status import StatusStore
    from tests.unit.fake_redis import FakeRedis

    client = FakeRedis()
    store = StatusStore(client, 3600)
    assert store.claim(ARTICLE, "Titre")
    trips = client.round_trips
    store.set_status(ARTICLE, Status.INGESTED)
    assert client.round_trips == trips + 1
    store.set_status(ARTICLE, Status.INGESTED)  # redelivered: written, not published again
    store.set_failed(ARTICLE, "language", "ValueError: x", attempts=3)
    store.set_status(ARTICLE, Status.QUEUED, redriven_from="language")  # a new run
    store.set_status(ARTICLE, Status.INGESTED)
    published = [fields for _, fields in client.data[STREAM]]
    assert [f["status"] for f in published] == [
        "queued", "ingested", "failed", "queued", "ingested",
    ]  # fmt: skip
    assert published[2]["stage"] == "language" and published[2]["reason"] == "ValueError: x"
    assert published[0]["stage"] == "gateway" and published[1]["stage"] == "ingest"
    live = store.get(ARTICLE)
    assert live is not None and live["status"] == "ingested" and PUBLISHED_FIELD not in live
