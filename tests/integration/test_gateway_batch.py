"""POST /articles/batch against real Redis and PostgreSQL: the valid articles of a batch
with bad ones are queued (status in Redis, message sent to ingest), the bad ones are
reported and leave no trace, and the batch counts as one write request."""

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.gateway.app import create_app
from shared.ids import article_id
from shared.names import TASK_INGEST
from shared.outbox import outbox_key
from shared.settings import get_settings
from shared.status import status_key

pytestmark = pytest.mark.integration

KEY = secrets.token_hex(12)


@pytest.fixture()
def api(
    stack_env: dict[str, str], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("API_KEYS", KEY)
    monkeypatch.setenv("RATE_LIMIT_WRITES_PER_MINUTE", "2")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings()), headers={"X-API-Key": KEY}) as client:
        yield client


@pytest.fixture()
def live(stack_env: dict[str, str]) -> Iterator["redis.Redis[Any]"]:
    client: redis.Redis[Any] = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


def test_valid_articles_are_queued_and_bad_ones_reported(
    api: TestClient, live: "redis.Redis[Any]"
) -> None:
    tag = secrets.token_hex(4)
    articles: list[Any] = [
        {"text": f"Premier article {tag}.", "title": "Un titre\nsur deux lignes "},
        {"text": ""},
        {"text": f"Deuxième article {tag}.", "title": "bip\u0007"},
        {"text": f"Troisième article {tag}.", "source": 7},
        {"text": f"Quatrième article {tag}."},
        {"text": f"Premier article {tag}."},  # the first one again: a duplicate
    ]
    answer = api.post("/articles/batch", json={"articles": articles})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["errors"], body["accepted"], body["refused"]) == (True, 3, 3)
    first, fourth = article_id(articles[0]["text"]), article_id(articles[4]["text"])
    assert body["ids"] == [first, fourth, first]
    items = body["items"]
    assert [(i["index"], i["id"], i["status"], i["duplicate"]) for i in items] == [
        (0, first, "queued", False),
        (1, None, "refused", False),
        (2, None, "refused", False),
        (3, None, "refused", False),
        (4, fourth, "queued", False),
        (5, first, "queued", True),
    ]
    assert [(i["error"]["field"], i["error"]["type"]) for i in items[1:4]] == [
        ("text", "blank"),
        ("title", "control_character"),
        ("source", "string_type"),
    ]

    # Accepted: a live status (title normalised) and a message for ingest.
    for aid in (first, fourth):
        assert live.exists(outbox_key(aid, TASK_INGEST))
        assert api.get(f"/articles/{aid}").json()["status"] == "queued"
    assert api.get(f"/articles/{first}").json()["title"] == "Un titre sur deux lignes"
    # Refused: nothing in Redis, unknown to the API.
    for bad in (articles[2], articles[3]):
        aid = article_id(bad["text"])
        assert not live.exists(status_key(aid))
        assert not live.exists(outbox_key(aid, TASK_INGEST))
        assert api.get(f"/articles/{aid}").status_code == 404


def test_a_batch_with_bad_articles_counts_as_one_write(
    api: TestClient, live: "redis.Redis[Any]"
) -> None:
    mixed = [{"text": f"ok {secrets.token_hex(4)}"}, {"text": ""}, {"text": 3}]
    assert api.post("/articles/batch", json=mixed).status_code == 202
    # Every article refused: nothing queued, nothing counted.
    only_bad = api.post("/articles/batch", json=[{"text": ""}])
    assert only_bad.status_code == 202 and only_bad.json()["accepted"] == 0
    assert api.post("/articles", json={"text": f"two {secrets.token_hex(4)}"}).status_code == 202
    refused = api.post("/articles", json={"text": f"three {secrets.token_hex(4)}"})
    assert refused.status_code == 429, refused.text
