"""In-flight article status, kept in Redis from acceptance until it is stored.

PostgreSQL is the record for stored and failed articles; this hash answers
GET /articles/{id} in the meantime, so an accepted id is never a 404.

The store also keeps the index of the articles in flight (IN_FLIGHT_KEY: id -> when it
was queued), written in the same round trips as their status: added when an article is
claimed or re-driven (queued), removed when it is stored or failed (or its claim is
released). Its size is the in-flight gauge of GET /metrics, exact whatever the number of
workers, redeliveries or re-drives; entries older than the status itself (STATUS_TTL_SECONDS,
an article lost for good) are trimmed when new articles are claimed.
"""

import json
import time
from datetime import UTC, datetime
from typing import Any

import redis

from shared.envelope import Status

KEY_PREFIX = "newsflow:article:"
IN_FLIGHT_KEY = "newsflow:in-flight"
# Statuses that take an article out of flight.
FINAL_STATUSES = frozenset({Status.STORED, Status.FAILED})


def status_key(article_id: str) -> str:
    return f"{KEY_PREFIX}{article_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


class StatusStore:
    def __init__(self, client: "redis.Redis[Any]", ttl_seconds: int) -> None:
        self.client = client
        self.ttl = ttl_seconds

    def claim(self, article_id: str, title: str | None = None) -> bool:
        """Record a new article as queued; False if the id is already known (a resubmission)."""
        key = status_key(article_id)
        created = bool(self.client.hsetnx(key, "status", Status.QUEUED.value))
        if created:
            fields: dict[str | bytes, str] = {"accepted_at": _now(), "updated_at": _now()}
            if title:
                fields["title"] = title
            now = time.time()
            pipe = self.client.pipeline()
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl)
            pipe.zadd(IN_FLIGHT_KEY, {article_id: now})
            pipe.zremrangebyscore(IN_FLIGHT_KEY, "-inf", now - self.ttl)
            pipe.execute()
        return created

    def release(self, article_id: str) -> None:
        """Undo a claim whose enqueue failed, so the client can safely resubmit."""
        pipe = self.client.pipeline()
        pipe.delete(status_key(article_id))
        pipe.zrem(IN_FLIGHT_KEY, article_id)
        pipe.execute()

    def set_status(self, article_id: str, status: Status, **fields: str) -> None:
        key = status_key(article_id)
        pipe = self.client.pipeline()
        mapping: dict[str | bytes, str] = {"status": status.value, "updated_at": _now()}
        mapping.update(fields)
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, self.ttl)
        if status in FINAL_STATUSES:
            pipe.zrem(IN_FLIGHT_KEY, article_id)
        elif status is Status.QUEUED:  # re-driven: in flight again
            pipe.zadd(IN_FLIGHT_KEY, {article_id: time.time()})
        pipe.execute()

    def set_failed(
        self, article_id: str, stage: str, reason: str, attempts: int | None = None
    ) -> None:
        error = json.dumps(
            {"stage": stage, "reason": reason, "attempts": attempts, "last_error_at": _now()}
        )
        self.set_status(article_id, Status.FAILED, error=error)

    def get(self, article_id: str) -> dict[str, Any] | None:
        raw = self.client.hgetall(status_key(article_id))
        if not raw:
            return None
        data: dict[str, Any] = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
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
