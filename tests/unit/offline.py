"""Settings for a gateway built in a unit test: Redis and PostgreSQL on port 9 (discard) of
loopback, where nothing listens, so every connection is refused at once."""

from typing import Any

from shared.settings import Settings

API_KEY = "unit-test-key"
KEY = {"X-API-Key": API_KEY}


def offline_settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "redis_url": "redis://127.0.0.1:9/0",
        "postgres_host": "127.0.0.1",
        "postgres_port": 9,
        "log_json": False,
        "api_keys": API_KEY,
    }
    return Settings(**{**fields, **overrides})
