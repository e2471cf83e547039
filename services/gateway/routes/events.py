"""Live events as Server-Sent Events: GET /articles/{id}/events and GET /events.

Reads need a key like every other read (unless PUBLIC_READ). A browser's EventSource
cannot send headers: use PUBLIC_READ, a proxy that adds the key, or a fetch-based SSE
client. Each stream holds one Redis connection and no thread; EVENTS_MAX_CLIENTS bounds
how many a gateway process serves at once (503 beyond).
"""

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC
from typing import Annotated, Any

import redis.exceptions
from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from services.gateway.errors import ApiError
from services.gateway.events import (
    PING_SECONDS,
    START,
    Entry,
    EventSource,
    StreamSlots,
    all_events,
    article_events,
    final_event,
    gap_notice,
    sse,
)
from services.gateway.routes.deps import AUTH_RESPONSES, EventsDep, GatewayDep, SlotsDep, error
from services.gateway.security import require_read
from shared.envelope import Status
from shared.events import (
    FINAL,
    STREAM,
    Event,
    is_after,
    missed_since,
    parse_fields,
    parse_stream_id,
    stream_id,
)

log = logging.getLogger(__name__)


class EventStream(EventSourceResponse):
    """sse-starlette's response, with its media type where OpenAPI looks for it."""

    media_type = "text/event-stream"


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Event,
        "description": "`text/event-stream`: per transition, `id:` its event id and `data:` "
        "the Event as JSON",
    },
    422: error("Last-Event-ID is not an event id, or an unknown status"),
    503: error("Redis unavailable, or too many open event streams (see Retry-After)"),
}

LastEventId = Annotated[
    str | None,
    Header(
        description="Resume after this event id (`<ms>-<seq>`, the SSE `id:`); browsers "
        "send it by themselves when they reconnect"
    ),
]


def resume_after(value: str | None) -> str | None:
    """The Last-Event-ID header as a stream id; None when absent or blank."""
    if value is None or not value.strip():
        return None
    parsed = parse_stream_id(value)
    if parsed is None:
        raise ApiError(
            422,
            ["header", "Last-Event-ID"],
            "not an event id: expected <milliseconds>-<sequence>, the id: of an event",
            "last_event_id_invalid",
        )
    return stream_id(parsed)


def check_room(slots: StreamSlots) -> None:
    if slots.full:
        raise ApiError(
            503,
            [],
            f"this gateway serves {slots.limit} event streams at most (EVENTS_MAX_CLIENTS); retry",
            "too_many_streams",
            headers={"Retry-After": "5"},
        )


async def guarded(
    slots: StreamSlots, messages: AsyncGenerator[ServerSentEvent, None]
) -> AsyncGenerator[ServerSentEvent, None]:
    """Count the stream while it is open; Redis gone ends it (the client reconnects with
    Last-Event-ID and resumes, or gets 503 until Redis is back)."""
    slots.enter()
    try:
        async with aclosing(messages) as opened:
            async for message in opened:
                yield message
    except redis.exceptions.RedisError as exc:
        log.warning("event stream ended: Redis unavailable", extra={"error": repr(exc)})
    finally:
        slots.leave()


async def article_messages(
    source: EventSource, article_id: str, history: list[Entry], after: str, since: str
) -> AsyncGenerator[ServerSentEvent, None]:
    async with aclosing(article_events(source, article_id, history, after, since)) as entries:
        async for entry_id, fields in entries:
            yield sse(entry_id, parse_fields(fields))


async def all_messages(
    source: EventSource, after: str, statuses: set[str] | None, gap: str | None
) -> AsyncGenerator[ServerSentEvent, None]:
    if gap is not None:
        yield gap_notice(gap)
    async with aclosing(all_events(source, STREAM, after, statuses)) as events:
        async for entry_id, event in events:
            yield sse(entry_id, event)


async def one(message: ServerSentEvent) -> AsyncGenerator[ServerSentEvent, None]:
    yield message


def synthetic_id(event: Event) -> str:
    """An id for a final event rebuilt from the article's record (its stream expired):
    its time in ms, so that the reconnect it causes answers 204."""
    return f"{int(event.at.astimezone(UTC).timestamp() * 1000)}-0"


router = APIRouter(tags=["events"], dependencies=[Depends(require_read)], responses=AUTH_RESPONSES)


@router.get(
    "/articles/{article_id}/events",
    response_class=EventStream,
    response_model=None,
    responses={
        **STREAM_RESPONSES,
        204: {"description": "Last-Event-ID is the article's final event: nothing more"},
        404: error("No article with this id"),
    },
)
async def article_event_stream(
    article_id: str,
    gateway: GatewayDep,
    source: EventsDep,
    slots: SlotsDep,
    last_event_id: LastEventId = None,
) -> Response:
    """The article's transitions (`queued`, `ingested`, ..., then `stored` or `failed`),
    each with its stage, time and status, from the first (or after Last-Event-ID), then
    live; the stream closes after the final one. An article whose events have expired
    (EVENTS_RETENTION_MINUTES) gets its final event only."""
    after = resume_after(last_event_id)
    check_room(slots)
    found = await run_in_threadpool(gateway.article, article_id)
    if found is None:
        raise ApiError(404, ["path", "article_id"], "no article with this id", "not_found")
    newest = await source.last(STREAM)  # before the history: see article_events
    since = newest[0] if newest else START
    history = await source.history(article_id)
    if not history:
        final = final_event(found)
        if final is not None:
            own_id = synthetic_id(final)
            if after is not None and not is_after(own_id, after):
                return Response(status_code=204)
            return EventSourceResponse(guarded(slots, one(sse(own_id, final))))
    else:
        last_id, last = history[-1]
        if last.get("status") in FINAL and after is not None and not is_after(last_id, after):
            # EventSource reconnects whenever a stream closes; 204 tells it to stop.
            return Response(status_code=204)
    return EventSourceResponse(
        guarded(slots, article_messages(source, article_id, history, after or START, since)),
        ping=PING_SECONDS,
    )


@router.get(
    "/events",
    response_class=EventStream,
    response_model=None,
    responses=STREAM_RESPONSES,
)
async def event_stream(
    source: EventsDep,
    slots: SlotsDep,
    status: Annotated[
        list[Status] | None,
        Query(description="Only these statuses (repeat the parameter for several)"),
    ] = None,
    last_event_id: LastEventId = None,
) -> Response:
    """Every transition of every article from now on (or after Last-Event-ID, within
    EVENTS_RETENTION_MINUTES), optionally only some statuses. When trimming removed events
    after Last-Event-ID, an `event: gap` comes first."""
    after = resume_after(last_event_id)
    check_room(slots)
    gap = None
    if after is None:
        newest = await source.last(STREAM)
        after = newest[0] if newest else START
    elif missed_since(after, await source.max_deleted_id(STREAM)):
        gap = after
    statuses = {s.value for s in status} if status else None
    return EventSourceResponse(
        guarded(slots, all_messages(source, after, statuses, gap)), ping=PING_SECONDS
    )
