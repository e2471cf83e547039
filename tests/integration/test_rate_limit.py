"""The per-key write rate limit, in a real Redis (shared by every gateway replica)."""

import secrets
import time
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.errors import ApiError
from services.gateway.security import RATE_LIMIT_PREFIX, Caller, RateLimiter, key_id
from shared.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture()
def client_redis(redis_url: str) -> "redis.Redis[Any]":
    return redis.Redis.from_url(redis_url, decode_responses=True)


def test_limit_counts_per_key_and_says_when_to_retry(client_redis: "redis.Redis[Any]") -> None:
    limiter = RateLimiter(client_redis, per_minute=3)
    alice, bob = Caller(key_id(secrets.token_hex(8))), Caller(key_id(secrets.token_hex(8)))
    for _ in range(3):
        limiter.hit(alice)
    with pytest.raises(ApiError) as refused:
        limiter.hit(alice)
    assert refused.value.status_code == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    assert refused.value.detail[0]["type"] == "rate_limited"
    limiter.hit(bob)  # another key has its own budget


def test_a_replica_shares_the_count(client_redis: "redis.Redis[Any]") -> None:
    caller = Caller(key_id(secrets.token_hex(8)))
    one, two = RateLimiter(client_redis, 2), RateLimiter(client_redis, 2)
    one.hit(caller)
    two.hit(caller)
    with pytest.raises(ApiError):
        one.hit(caller)


def test_the_window_closes(client_redis: "redis.Redis[Any]") -> None:
    caller = Caller(key_id(secrets.token_hex(8)))
    limiter = RateLimiter(client_redis, 1)
    limiter.hit(caller)
    with pytest.raises(ApiError):
        limiter.hit(caller)
    client_redis.expire(RATE_LIMIT_PREFIX + caller.key_id, 1)  # fast-forward the window
    time.sleep(1.2)
    limiter.hit(caller)


def test_zero_disables_the_limit(client_redis: "redis.Redis[Any]") -> None:
    limiter = RateLimiter(client_redis, 0)
    caller = Caller(key_id(secrets.token_hex(8)))
    for _ in range(50):
        limiter.hit(caller)
    assert client_redis.get(RATE_LIMIT_PREFIX + caller.key_id) is None


def test_redis_holds_only_the_key_hash(client_redis: "redis.Redis[Any]") -> None:
    key = "raw-key-" + secrets.token_hex(8)
    RateLimiter(client_redis, 5).hit(Caller(key_id(key)))
    names = list(client_redis.scan_iter(match=RATE_LIMIT_PREFIX + "*", count=1000))
    assert RATE_LIMIT_PREFIX + key_id(key) in names
    assert not any(key in name for name in names)


def gateway(redis_url: str, key: str, per_minute: int) -> FastAPI:
    settings = Settings(
        redis_url=redis_url,
        postgres_host="127.0.0.1",
        postgres_port=9,  # unreachable: only invalid or refused requests are sent
        log_json=False,
        api_keys=key,
        rate_limit_writes_per_minute=per_minute,
    )  # type: ignore[call-arg]
    return create_app(settings)


def test_http_429_after_the_limit_for_that_key_only(redis_url: str) -> None:
    key, other = secrets.token_hex(12), secrets.token_hex(12)
    with TestClient(gateway(redis_url, f"{key},{other}", 2), raise_server_exceptions=False) as api:
        batch = {"articles": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}
        # Counted after validation: each of these passes it, then fails on PostgreSQL (503).
        first = api.post("/articles/batch", json=batch, headers={"X-API-Key": key})
        second = api.post("/articles", json={"text": "x"}, headers={"X-API-Key": key})
        assert (first.status_code, second.status_code) == (503, 503)
        # A batch of 3 counted as one request: the third request is the one refused.
        refused = api.post(
            "/articles", json={"text": "y"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["detail"][0]["type"] == "rate_limited"
        # Invalid bodies are refused (422) before they count or get a 429.
        assert (
            api.post("/articles", json={"text": ""}, headers={"X-API-Key": key}).status_code == 422
        )
        # Another key has its own budget.
        assert (
            api.post("/articles", json={"text": "z"}, headers={"X-API-Key": other}).status_code
            == 503
        )
