"""POST /articles/batch over HTTP, with Redis and PostgreSQL unreachable.

Anything that reaches a backend answers 503 here, so these tests see exactly where the
gateway stops: a batch whose every article is refused answers 202 item by item without
touching a backend; one valid article sends the batch on to the backends (503); a
problem of the batch itself refuses it whole.
"""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from tests.unit.offline import KEY, offline_settings


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = offline_settings(max_batch_size=5, max_batch_body_bytes=2000)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_article_refused_answers_each_with_its_index_field_and_reason(
    client: TestClient,
) -> None:
    articles = [{"text": ""}, {"text": "t", "title": "bip\u0007"}, {"text": 42}, [1]]
    answer = client.post("/articles/batch", json={"articles": articles}, headers=KEY)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["errors"], body["accepted"], body["refused"], body["ids"]) == (True, 0, 4, [])
    items = body["items"]
    assert [i["index"] for i in items] == [0, 1, 2, 3]
    assert all(i["id"] is None and i["status"] == "refused" for i in items)
    assert [(i["error"]["field"], i["error"]["type"]) for i in items] == [
        ("text", "blank"),
        ("title", "control_character"),
        ("text", "string_type"),
        (None, "object_type"),
    ]
    assert items[1]["error"]["loc"] == ["body", "articles", 1, "title"]
    assert "U+0007" in items[1]["error"]["reason"]


def test_one_valid_article_goes_on_to_the_backends(client: TestClient) -> None:
    # The valid article is not refused with the bad one: it reaches Redis (down here).
    articles = [{"text": ""}, {"text": "Bonjour.", "title": "Deux\nlignes"}]
    answer = client.post("/articles/batch", json={"articles": articles}, headers=KEY)
    assert answer.status_code == 503
    assert answer.json()["detail"][0]["type"] == "service_unavailable"


@pytest.mark.parametrize(
    ("kwargs", "status", "loc"),
    [
        ({"content": b"{nope", "headers": {"Content-Type": "application/json"}}, 422, ["body"]),
        ({"json": {"articles": {"text": "a"}}}, 422, ["body", "articles"]),
        ({"json": {"text": "a"}}, 422, ["body"]),
        ({"json": {"articles": []}}, 422, ["body", "articles"]),
        ({"json": []}, 422, ["body"]),
        ({"json": {"articles": [{"text": ""}] * 6}}, 422, ["body", "articles"]),
        ({"json": {"articles": [{"text": "x" * 2000}]}}, 413, ["body"]),
        ({"content": b"[]", "headers": {"Content-Type": "text/plain"}}, 415, None),
    ],
    ids=[
        "not-json",
        "not-a-list",
        "no-articles",
        "empty",
        "empty-array",
        "too-many",
        "too-big",
        "not-json-type",
    ],
)
def test_a_problem_of_the_batch_refuses_it_whole(
    client: TestClient, kwargs: dict[str, object], status: int, loc: list[object] | None
) -> None:
    extra: dict[str, str] = kwargs.pop("headers", {})  # type: ignore[assignment]
    answer = client.post("/articles/batch", headers={**KEY, **extra}, **kwargs)
    assert answer.status_code == status, answer.text
    [problem] = answer.json()["detail"]
    assert problem["msg"]
    if loc is not None:
        assert problem["loc"] == loc


def test_title_line_break_passes_validation_but_a_bell_does_not(client: TestClient) -> None:
    ok = client.post("/articles", json={"text": "Bonjour.", "title": "Un\r\ntitre"}, headers=KEY)
    assert ok.status_code == 503  # valid: it went on to Redis
    bell = client.post("/articles", json={"text": "Bonjour.", "title": "Un\atitre"}, headers=KEY)
    assert bell.status_code == 422
    assert bell.json()["detail"][0]["loc"] == ["body", "title"]
    assert bell.json()["detail"][0]["type"] == "control_character"
