"""In-flight article status, kept in Redis from acceptance until it is stored.

PostgreSQL is the record for stored and failed articles; this hash answers
GET /articles/{id} in the meantime, so an accepted id is never a 404.

The store also keeps the index of the articles in flight (IN_FLIGHT_KEY: id -> when it
was queued), written in the same round trips as their status: added when an article is
claimed or re-driven (queued), removed when it is stored or failed (or its claim is
released). Its size is the in-flight gauge of GET /metrics, exact whatever the number of
workers, redeliveries or re-drives; entries older than the status itself (STATUS_TTL_SECONDS,
an article lost for good) are trimmed when new articles are claimed.

Every status written here is a transition, and publishes its event (shared/events.py) in
the same round trip, a MULTI transaction: the event exists exactly when the status was
recorded, whoever recorded it.
"""

import json
import time
from collections.abc import Callable
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
IN_FLIGHT_KEY = "newsflow:in-flight"
# Statuses that take an article out of flight.
FINAL_STATUSES = frozenset({Status.STORED, Status.FAILED})


def status_key(article_id: str) -> str:
    return f"{KEY_PREFIX}{article_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


# Publish a transition unless this run published its status already (a redelivered
# stage), run in the same MULTI as the status write (shared/events.py).
# KEYS: status hash, global stream, the article's index of entry ids, newest trimmed id.
# ARGV: status, MINID of the global stream, index TTL (s), then event field/value pairs.
# Returns the event's entry id, or false when it was not published.
PUBLISH_SCRIPT = """
local status = ARGV[1]
local event = {}
for i = 4, #ARGV do event[#event + 1] = ARGV[i] end
local published = redis.call('HGET', KEYS[1], '{published}')
if not published or status == 'queued' then published = '' end
local tag = '|' .. status .. '|'
if string.find(published, tag, 1, true) then return false end
redis.call('HSET', KEYS[1], '{published}', published .. tag)
-- The newest entry this XADD trims: clients behind it missed events (GET /events says so).
-- Asked only when there is one: with no entry older than MINID, XREVRANGE walks the whole
-- stream (2.5 ms at 9,000 entries, most of Redis's CPU per article); XRANGE does not.
if #redis.call('XRANGE', KEYS[2], '-', '(' .. ARGV[2], 'COUNT', 1) > 0 then
  local trimmed = redis.call('XREVRANGE', KEYS[2], '(' .. ARGV[2], '-', 'COUNT', 1)
  if #trimmed > 0 then redis.call('SET', KEYS[4], trimmed[1][1]) end
end
local id = redis.call('XADD', KEYS[2], 'MINID', ARGV[2], '*', unpack(event))
redis.call('RPUSH', KEYS[3], id)
redis.call('EXPIRE', KEYS[3], ARGV[3])
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

    def claim(self, article_id: str, title: str | None = None) -> bool:
        """Record a new article as queued; False if the id is already known (a resubmission)."""
        key = status_key(article_id)
        created = bool(self.client.hsetnx(key, "status", Status.QUEUED.value))
        if created:
            now = _now()
            fields = {"accepted_at": now, "updated_at": now}
            if title:
                fields["title"] = title
            self.record(article_id, Status.QUEUED, fields, at=now, claimed=True)
        return created

    def release(self, article_id: str) -> None:
        """Undo a claim whose enqueue failed, so the client can safely resubmit (its
        `queued` event stays published)."""
        pipe = self.client.pipeline()
        pipe.delete(status_key(article_id))
        pipe.zrem(IN_FLIGHT_KEY, article_id)
        pipe.execute()

    def record(
        self,
        article_id: str,
        status: Status,
        fields: dict[str, str],
        *,
        at: str,
        failed_stage: str | None = None,
        reason: str | None = None,
        claimed: bool = False,
        also: Callable[[Any], object] | None = None,
    ) -> str | None:
        """Write `status` and `fields` to the article's hash, keep the in-flight index, and
        publish the transition, in one transaction; the event's id, or None when this run
        had published this status already. `also` queues more writes in the same
        transaction (a stage's outbox entry for the next stage): one round trip in all."""
        key = status_key(article_id)
        event = Event(
            article_id=article_id,
            status=status.value,
            stage=stage_of(status.value, failed_stage),
            at=datetime.fromisoformat(at),
            reason=reason,
        )
        pipe = self.client.pipeline()
        mapping: dict[str | bytes, str] = {"status": status.value}
        mapping.update(fields)
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, self.ttl)
        now = time.time()
        if status in FINAL_STATUSES:
            pipe.zrem(IN_FLIGHT_KEY, article_id)
        elif status is Status.QUEUED:  # accepted, or re-driven: in flight (again)
            pipe.zadd(IN_FLIGHT_KEY, {article_id: now})
            if claimed:
                pipe.zremrangebyscore(IN_FLIGHT_KEY, "-inf", now - self.ttl)
        pairs = [item for pair in event_fields(event).items() for item in pair]
        # EVAL, not EVALSHA: redis-py's registered scripts ask SCRIPT EXISTS before every
        # pipeline (one more round trip per transition), and an EVALSHA inside MULTI after a
        # Redis restart would fail alone while the rest of the transaction is applied. The
        # script is short; Redis caches it by its hash.
        keys = [key, STREAM, article_index(article_id), TRIMMED_KEY]
        pipe.eval(
            PUBLISH_SCRIPT,
            len(keys),
            *keys,
            status.value,
            min_id(int(now * 1000), self.events_retention_minutes),
            self.events_retention_minutes * 60,
            *pairs,
        )
        published_at = len(pipe)
        if also is not None:
            also(pipe)
        entry_id = pipe.execute()[published_at - 1]
        if not entry_id:
            return None
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def set_status(
        self,
        article_id: str,
        status: Status,
        also: Callable[[Any], object] | None = None,
        **fields: str,
    ) -> None:
        now = _now()
        self.record(article_id, status, {"updated_at": now, **fields}, at=now, also=also)

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
