"""Live events: one per article status transition, kept in Redis Streams.

Every transition is recorded by StatusStore (shared/status.py), in one MULTI transaction
that updates the status hash AND publishes the event (a Lua script), so an event exists
exactly when the status was written, whoever wrote it (the gateway for `queued`, each
stage for its own status, the failing stage for `failed`):

- the event is an entry of the stream `newsflow:events` (GET /events, the webhooks
  dispatcher), trimmed by time with `XADD ... MINID <now - EVENTS_RETENTION_MINUTES>`
  (exact: cheap, as it only ever removes the oldest few entries);
- its entry id is appended to `newsflow:events:article:<id>`, the article's index (a short
  list, about 200 bytes; a stream of its own would take 4 KB), which expires
  EVENTS_RETENTION_MINUTES after the article's last event. GET /articles/{id}/events
  replays the entries it names, then follows the stream for that article.

The entry id (`<unix ms>-<seq>`) is the SSE `id:`, so a client that reconnects with
`Last-Event-ID` resumes right after the last event it saw.

Redelivery: stages are idempotent and at-least-once, so one may record the same status
twice. The status hash remembers which statuses were published since the article was last
`queued` (`_published`), and a status already published is written again but not
published again. A re-drive records `queued` anew, which starts a new run.

This module is pure (no Redis, no HTTP): event shape, stream names and ids, filters.
"""

import json
import re
from collections.abc import Collection, Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from shared.envelope import Status
from shared.names import (
    STAGE_ENTITIES,
    STAGE_GATEWAY,
    STAGE_INGEST,
    STAGE_LANGUAGE,
    STAGE_STORAGE,
)

STREAM = "newsflow:events"
ARTICLE_INDEX_PREFIX = "newsflow:events:article:"
# The id of the newest entry trimmed from STREAM (XINFO's max-deleted-entry-id counts
# XDEL only, not trimming).
TRIMMED_KEY = "newsflow:events:trimmed"
# The status hash's field listing the statuses already published in this run.
PUBLISHED_FIELD = "_published"

FINAL: frozenset[str] = frozenset({Status.STORED.value, Status.FAILED.value})

# The stage that records each status (a failure names its own stage).
STATUS_STAGES: dict[str, str] = {
    Status.QUEUED.value: STAGE_GATEWAY,
    Status.INGESTED.value: STAGE_INGEST,
    Status.LANGUAGE_DETECTED.value: STAGE_LANGUAGE,
    Status.ENTITIES_EXTRACTED.value: STAGE_ENTITIES,
    Status.STORED.value: STAGE_STORAGE,
}

_STREAM_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")


class Event(BaseModel):
    """One transition: the SSE `data:` and a webhook delivery's `data`."""

    article_id: str
    status: str = Field(description="queued, ingested, ..., stored or failed")
    stage: str = Field(description="The stage that recorded it (gateway for queued)")
    at: datetime = Field(description="When it was recorded (UTC)")
    reason: str | None = Field(None, description="Why it failed; null otherwise")

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def article_index(article_id: str) -> str:
    """The list of the article's entry ids in STREAM, oldest first."""
    return f"{ARTICLE_INDEX_PREFIX}{article_id}"


def stage_of(status: str, failed_stage: str | None = None) -> str:
    """The stage that records `status`; a failure's own stage for `failed`."""
    if status == Status.FAILED.value:
        return failed_stage or "unknown"
    return STATUS_STAGES.get(status, "unknown")


def event_fields(event: Event) -> dict[str, str]:
    """The stream entry's fields (flat strings); `reason` only when there is one."""
    fields = {
        "article_id": event.article_id,
        "status": event.status,
        "stage": event.stage,
        "at": event.at.isoformat(),
    }
    if event.reason is not None:
        fields["reason"] = event.reason
    return fields


def parse_fields(fields: Mapping[str, str]) -> Event:
    """The event of a stream entry (event_fields read back)."""
    return Event.model_validate(dict(fields))


def parse_stream_id(value: str) -> tuple[int, int] | None:
    """`<ms>-<seq>` (or `<ms>`) as a comparable pair; None when not a stream id."""
    match = _STREAM_ID.match(value.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def stream_id(value: tuple[int, int]) -> str:
    return f"{value[0]}-{value[1]}"


def min_id(now_ms: int, retention_minutes: int) -> str:
    """The oldest entry id the global stream keeps (XADD MINID): older ones are trimmed."""
    return f"{max(0, now_ms - retention_minutes * 60_000)}-0"


def is_after(entry_id: str, last_id: str) -> bool:
    """Whether `entry_id` comes after `last_id` in a stream."""
    entry, last = parse_stream_id(entry_id), parse_stream_id(last_id)
    if entry is None or last is None:
        raise ValueError(f"not stream ids: {entry_id!r}, {last_id!r}")
    return entry > last


def missed_since(last_id: str, max_deleted_id: str | None) -> bool:
    """Whether trimming removed events the client did not see: the newest trimmed entry
    (TRIMMED_KEY) comes after the client's last id."""
    if not max_deleted_id:
        return False
    deleted = parse_stream_id(max_deleted_id)
    last = parse_stream_id(last_id)
    return deleted is not None and last is not None and deleted > last


def matches(event: Event, statuses: Collection[str] | None) -> bool:
    """The status filter of GET /events: no filter passes everything."""
    return not statuses or event.status in statuses


def should_publish(status: str, published: str) -> bool:
    """Whether recording `status` publishes an event, given the statuses published in
    this run (`|queued|ingested|`). `queued` always does: it starts a run. The Lua script
    in shared/status.py implements the same rule, inside Redis."""
    return status == Status.QUEUED.value or f"|{status}|" not in published
