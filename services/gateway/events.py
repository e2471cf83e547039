"""Server-Sent Events over the event streams of shared/events.py.

The generators here read through an `EventSource` (Redis in production, a list in the unit
tests) and never touch HTTP; routes/events.py turns what they yield into an SSE response.

- article_events: one article's transitions after a given id, from its history (the
  entries its index names), then live from the stream, until its final event (`stored`
  or `failed`); a re-driven article goes on past an earlier `failed` in its history.
- all_events: every transition after a given id, live, optionally only some statuses.

The SSE `id:` of each event is its stream entry id, so a browser's EventSource resends it
as `Last-Event-ID` when it reconnects, and the stream resumes right after it.
"""

import json
import logging
import threading
from collections.abc import AsyncGenerator, Collection
from datetime import UTC, datetime
from typing import Any, Protocol

import redis.asyncio
from sse_starlette import ServerSentEvent

from services.gateway.schemas import Article, ArticleInFlight
from shared.envelope import Status
from shared.events import (
    FINAL,
    STREAM,
    TRIMMED_KEY,
    Event,
    article_index,
    is_after,
    matches,
    parse_fields,
    stage_of,
)
from shared.names import STAGE_STORAGE

log = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str]]

BATCH = 100
# How long one read waits for new events; the response pings on its own meanwhile.
BLOCK_MS = 10_000
PING_SECONDS = 15
# The stream id before any entry: "from the start".
START = "0-0"
# EventSource waits this long before it reconnects (the SSE `retry:` field), in ms.
RETRY_MS = 3000


class EventSource(Protocol):
    async def read(self, stream: str, after: str, count: int, block_ms: int | None) -> list[Entry]:
        """Entries after `after`, oldest first, waiting up to `block_ms` for one (None:
        not at all)."""

    async def last(self, stream: str) -> Entry | None:
        """The newest entry, None when the stream is empty or gone."""

    async def history(self, article_id: str) -> list[Entry]:
        """The article's entries still in the stream, oldest first."""

    async def max_deleted_id(self, stream: str) -> str | None:
        """The newest entry trimming removed, None when unknown."""


class RedisEventSource:
    """EventSource over Redis Streams, with the asyncio client: a waiting read holds a
    connection but no thread."""

    def __init__(self, client: "redis.asyncio.Redis[Any]") -> None:
        self.client = client

    async def read(self, stream: str, after: str, count: int, block_ms: int | None) -> list[Entry]:
        answer = await self.client.xread({stream: after}, count=count, block=block_ms)
        entries: list[Entry] = []
        for _name, items in answer or []:
            entries.extend((str(entry_id), dict(fields)) for entry_id, fields in items)
        return entries

    async def last(self, stream: str) -> Entry | None:
        items = await self.client.xrevrange(stream, "+", "-", count=1)
        if not items:
            return None
        entry_id, fields = items[0]
        return str(entry_id), dict(fields)

    async def history(self, article_id: str) -> list[Entry]:
        ids = await self.client.lrange(article_index(article_id), 0, -1)
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for entry_id in ids:
            pipe.xrange(STREAM, entry_id, entry_id, count=1)
        found = await pipe.execute()
        return [(str(items[0][0]), dict(items[0][1])) for items in found if items]

    async def max_deleted_id(self, stream: str) -> str | None:
        if stream != STREAM:
            return None
        value = await self.client.get(TRIMMED_KEY)
        return str(value) if value else None


class StreamSlots:
    """How many SSE streams this process has open, against EVENTS_MAX_CLIENTS."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        return self.open >= self.limit

    def enter(self) -> None:
        with self._lock:
            self.open += 1

    def leave(self) -> None:
        with self._lock:
            self.open -= 1


async def article_events(
    source: EventSource,
    article_id: str,
    history: list[Entry],
    after: str,
    since: str,
    block_ms: int | None = BLOCK_MS,
) -> AsyncGenerator[Entry, None]:
    """The article's entries after `after`: those of its `history`, then live ones read
    from the stream after `since` (its newest id, taken before the history was read: no
    event falls between the two, none is sent twice), until its final event."""
    sent = after
    for entry_id, fields in history:
        if is_after(entry_id, sent):
            yield entry_id, fields
            sent = entry_id
    # Final, unless a re-drive went on after it (a `queued` after the `failed`).
    if history and history[-1][1].get("status") in FINAL:
        return
    cursor = since
    while True:
        for entry_id, fields in await source.read(STREAM, cursor, BATCH, block_ms):
            cursor = entry_id
            if fields.get("article_id") != article_id or not is_after(entry_id, sent):
                continue
            yield entry_id, fields
            sent = entry_id
            if fields.get("status") in FINAL:
                return


async def all_events(
    source: EventSource,
    stream: str,
    after: str,
    statuses: Collection[str] | None,
    block_ms: int | None = BLOCK_MS,
) -> AsyncGenerator[tuple[str, Event], None]:
    """Every event after `after`, then live ones, with a status in `statuses` (all when
    None); never ends by itself."""
    while True:
        for entry_id, fields in await source.read(stream, after, BATCH, block_ms):
            after = entry_id
            event = parse_fields(fields)
            if matches(event, statuses):
                yield entry_id, event


def sse(entry_id: str | None, event: Event) -> ServerSentEvent:
    """One transition as SSE: `id:` the stream entry id, `data:` the event as JSON."""
    return ServerSentEvent(data=event.to_json(), id=entry_id, retry=RETRY_MS)


def gap_notice(last_id: str) -> ServerSentEvent:
    """Told first to a client whose Last-Event-ID is older than what the stream still
    holds: it missed events (read the articles it follows again)."""
    return ServerSentEvent(
        data=json.dumps({"last_event_id": last_id, "reason": "older events were trimmed"}),
        event="gap",
    )


def final_event(article: Article | ArticleInFlight) -> Event | None:
    """The final event of an article that is stored or failed, made from its record: for
    one whose events have expired (older than EVENTS_RETENTION_MINUTES)."""
    if article.status not in FINAL:
        return None
    error = article.error
    at: datetime | None = None
    reason: str | None = None
    if article.status == Status.FAILED.value:
        stage = stage_of(article.status, error.stage if error else None)
        if error is not None:
            at, reason = error.last_error_at, error.reason
    else:
        stage = STAGE_STORAGE
        if isinstance(article, Article):
            at = article.metadata.stored_at
    if at is None and isinstance(article, ArticleInFlight):
        at = article.updated_at
    return Event(
        article_id=article.id,
        status=article.status,
        stage=stage,
        at=at or datetime.now(UTC),
        reason=reason,
    )
