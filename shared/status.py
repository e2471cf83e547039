"""In-flight article status, kept in Redis from acceptance until it is stored.

PostgreSQL is the record for stored and failed articles; this hash answers
GET /articles/{id} in the meantime, so an accepted id is never a 404.

Every status written here is a transition, and publishes its event (shared/events.py)
in the same Lua script: the event exists exactly when the status was recorded.
"""

import json
import time
from datetime import UTC, datetime
from typing import Any

import redis

from shared.envelope import Status
from shared.events import (
    PUBLISHED_FIELD,
    STREAM,
    TRIMMED_KEY,
    Event,
    article_index,
    event_fields,
    min_id,
    stage_of,
)

KEY_PREFIX = "newsflow:article:"


def status_key(article_id: str) -> str:
    return f"{KEY_PREFIX}{article_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


# Write the status hash and publish the transition, atomically (shared/events.py).
# KEYS: status hash, global stream, the article's index of entry ids, newest trimmed id.
# ARGV: status, hash TTL (s), MINID of the global stream, article index TTL (s), n, then
# n event field/value pairs, then the hash's field/value pairs.
# Returns the event's entry id, or false when this status was already published in this
# run (a redelivered stage): the hash is written all the same.
RECORD_SCRIPT = """
local status = ARGV[1]
local n = tonumber(ARGV[5])
local event = {}
for i = 6, 5 + 2 * n do event[#event + 1] = ARGV[i] end
local fields = {}
for i = 6 + 2 * n, #ARGV do fields[#fields + 1] = ARGV[i] end
local published = redis.call('HGET', KEYS[1], '{published}')
if not published or status == 'queued' then published = '' end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[2])
local tag = '|' .. status .. '|'
if string.find(published, tag, 1, true) then return false end
redis.call('HSET', KEYS[1], '{published}', published .. tag)
-- The newest entry this XADD trims: clients behind it missed events (GET /events says so).
local trimmed = redis.call('XREVRANGE', KEYS[2], '(' .. ARGV[3], '-', 'COUNT', 1)
if #trimmed > 0 then redis.call('SET', KEYS[4], trimmed[1][1]) end
local id = redis.call('XADD', KEYS[2], 'MINID', ARGV[3], '*', unpack(event))
redis.call('RPUSH', KEYS[3], id)
redis.call('EXPIRE', KEYS[3], ARGV[4])
return id
""".replace("{published}", PUBLISHED_FIELD)

DEFAULT_EVENTS_RETENTION_MINUTES = 60


class StatusStore:
    def __init__(
        self,
        client: "redis.Redis[Any]",
        ttl_seconds: int,
        events_retention_minutes: int = DEFAULT_EVENTS_RETENTION_MINUTES,
    ) -> None:
        self.client = client
        self.ttl = ttl_seconds
        self.events_retention_minutes = events_retention_minutes
        self._record = client.register_script(RECORD_SCRIPT)

    def claim(self, article_id: str, title: str | None = None) -> bool:
        """Record a new article as queued; False if the id is already known (a resubmission)."""
        key = status_key(article_id)
        created = bool(self.client.hsetnx(key, "status", Status.QUEUED.value))
        if created:
            now = _now()
            fields = {"accepted_at": now, "updated_at": now}
            if title:
                fields["title"] = title
            self.record(article_id, Status.QUEUED, fields, at=now)
        return created

    def record(
        self,
        article_id: str,
        status: Status,
        fields: dict[str, str],
        *,
        at: str,
        failed_stage: str | None = None,
        reason: str | None = None,
    ) -> str | None:
        """Write `status` and `fields` to the article's hash and publish the transition;
        the event's id, or None when this run had published this status already."""
        event = Event(
            article_id=article_id,
            status=status.value,
            stage=stage_of(status.value, failed_stage),
            at=datetime.fromisoformat(at),
            reason=reason,
        )
        pairs = [item for pair in event_fields(event).items() for item in pair]
        mapping = {**fields, "status": status.value}
        retention_s = self.events_retention_minutes * 60
        args: list[str | int] = [
            status.value,
            self.ttl,
            min_id(int(time.time() * 1000), self.events_retention_minutes),
            retention_s,
            len(pairs) // 2,
            *pairs,
            *(item for pair in mapping.items() for item in pair),
        ]
        entry_id = self._record(
            keys=[status_key(article_id), STREAM, article_index(article_id), TRIMMED_KEY],
            args=args,
        )
        if not entry_id:
            return None
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def release(self, article_id: str) -> None:
        """Undo a claim whose enqueue failed, so the client can safely resubmit."""
        self.client.delete(status_key(article_id))

    def set_status(self, article_id: str, status: Status, **fields: str) -> None:
        now = _now()
        self.record(article_id, status, {"updated_at": now, **fields}, at=now)

    def set_failed(
        self, article_id: str, stage: str, reason: str, attempts: int | None = None
    ) -> None:
        now = _now()
        error = json.dumps(
            {"stage": stage, "reason": reason, "attempts": attempts, "last_error_at": now}
        )
        self.record(
            article_id,
            Status.FAILED,
            {"updated_at": now, "error": error},
            at=now,
            failed_stage=stage,
            reason=reason,
        )

    def get(self, article_id: str) -> dict[str, Any] | None:
        raw = self.client.hgetall(status_key(article_id))
        if not raw:
            return None
        data: dict[str, Any] = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        # Bookkeeping (the statuses published in this run) is not the article's.
        data.pop(PUBLISHED_FIELD, None)
        if "error" in data:
            data["error"] = json.loads(data["error"])
        return data


CONTENT_PREFIX = "newsflow:content:"


class ContentRegistry:
    """Which article first brought a given clean text (by content hash)."""

    def __init__(self, client: "redis.Redis[Any]") -> None:
        self.client = client

    def first_with(self, content_hash: str, article_id: str) -> str:
        """The id of the first article with this content; `article_id` itself if it is first.

        Redelivery-safe: the same article asking again gets its own id back.
        """
        key = f"{CONTENT_PREFIX}{content_hash}"
        if self.client.set(key, article_id, nx=True):
            return article_id
        owner = self.client.get(key)
        return owner.decode() if isinstance(owner, bytes) else str(owner or article_id)


def redis_client(url: str, timeout_s: float | None = None) -> "redis.Redis[Any]":
    """A client; `timeout_s` also bounds each command (for callers that must not hang)."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout_s or 5,
        socket_timeout=timeout_s,
    )
