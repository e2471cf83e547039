"""Events published with each status, in real Redis: the Lua script of shared/status.py,
and the gateway's reader (services/gateway/events.py) on the streams it writes."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from services.gateway.events import START, RedisEventSource, all_events, article_events
from shared.envelope import Status
from shared.events import STREAM, TRIMMED_KEY, article_index, is_after
from shared.status import StatusStore, redis_client

pytestmark = pytest.mark.integration

A, B = "a" * 32, "b" * 32


@pytest.fixture()
def client(redis_url: str) -> Iterator["redis.Redis[Any]"]:
    c = redis_client(redis_url)
    c.flushdb()
    yield c
    c.flushdb()


@pytest.fixture()
def store(client: "redis.Redis[Any]") -> StatusStore:
    return StatusStore(client, ttl_seconds=600, events_retention_minutes=5)


def statuses(client: "redis.Redis[Any]", stream: str) -> list[str]:
    return [fields["status"] for _, fields in client.xrange(stream)]


def test_each_transition_is_published_once_with_its_status(
    client: "redis.Redis[Any]", store: StatusStore
) -> None:
    assert store.claim(A, "Titre")
    assert not store.claim(A)  # a resubmission records nothing
    store.set_status(A, Status.INGESTED, title="Titre")
    store.set_status(A, Status.INGESTED)  # a redelivered stage: written, not published
    store.set_status(A, Status.LANGUAGE_DETECTED)
    store.set_failed(A, "entities", "OSError: model missing", attempts=3)
    assert statuses(client, STREAM) == ["queued", "ingested", "language_detected", "failed"]
    [*_, (_, failed)] = client.xrange(STREAM)
    assert failed["stage"] == "entities" and failed["reason"] == "OSError: model missing"
    live = store.get(A)
    assert live is not None and live["status"] == "failed"
    assert "_published" not in live  # bookkeeping stays out of the API


def test_the_article_index_names_its_entries(
    client: "redis.Redis[Any]", store: StatusStore
) -> None:
    store.claim(A)
    store.claim(B)
    store.set_status(A, Status.INGESTED)
    store.set_status(B, Status.INGESTED)
    store.set_status(A, Status.STORED)
    everything = dict(client.xrange(STREAM))
    own = [everything[entry_id] for entry_id in client.lrange(article_index(A), 0, -1)]
    assert [f["status"] for f in own] == ["queued", "ingested", "stored"]
    assert {f["article_id"] for f in own} == {A}
    assert 0 < client.ttl(article_index(A)) <= 5 * 60


def test_a_redrive_starts_a_new_run(client: "redis.Redis[Any]", store: StatusStore) -> None:
    store.claim(A)
    store.set_status(A, Status.INGESTED)
    store.set_failed(A, "language", "ValueError: x")
    store.set_status(A, Status.QUEUED, redriven_from="language")
    store.set_status(A, Status.INGESTED)  # may come again in the new run
    store.set_status(A, Status.STORED)
    everything = dict(client.xrange(STREAM))
    assert [everything[i]["status"] for i in client.lrange(article_index(A), 0, -1)] == [
        "queued", "ingested", "failed", "queued", "ingested", "stored",
    ]  # fmt: skip


def test_events_older_than_the_retention_are_trimmed(
    client: "redis.Redis[Any]", store: StatusStore
) -> None:
    old = int(time.time() * 1000) - 6 * 60_000  # older than the 5 minutes kept
    client.xadd(STREAM, {"article_id": B, "status": "queued"}, id=f"{old}-0")
    store.claim(A)
    assert statuses(client, STREAM) == ["queued"]
    assert [f["article_id"] for _, f in client.xrange(STREAM)] == [A]
    assert client.get(TRIMMED_KEY) == f"{old}-0"  # what GET /events reports as a gap
    store.set_status(A, Status.INGESTED)  # nothing more to trim: the mark stays
    assert client.get(TRIMMED_KEY) == f"{old}-0"


def test_the_gateway_reads_what_the_stages_wrote(
    redis_url: str, client: "redis.Redis[Any]", store: StatusStore
) -> None:
    store.claim(A)
    store.set_status(A, Status.INGESTED)
    store.set_status(A, Status.STORED)

    client.rpush(article_index(B), "1-0")  # an entry trimmed since: left out

    async def read() -> tuple[list[str], list[str], str | None]:
        source = RedisEventSource(AsyncRedis.from_url(redis_url, decode_responses=True))
        assert await source.history(B) == []
        history = await source.history(A)
        newest = await source.last(STREAM)
        assert newest is not None
        events = article_events(source, A, history, START, newest[0])
        own = [f["status"] async for _, f in events]
        first = (await source.read(STREAM, START, 1, None))[0][0]
        after: list[str] = []
        async for entry_id, ev in all_events(source, STREAM, first, None, block_ms=200):
            assert is_after(entry_id, first)
            after.append(ev.status)
            if ev.final:
                break
        return own, after, await source.max_deleted_id(STREAM)

    own, after, missing = asyncio.run(read())
    assert own == ["queued", "ingested", "stored"]
    assert after == ["ingested", "stored"]
    assert missing is None  # nothing was trimmed
