"""/openapi.json, from the app object: every successful answer of every route has a schema.

Clients generate their code from it; an endpoint returning a hand-built dict would show
up here as a success response without a named model.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from tests.unit.offline import offline_settings

SUCCESS = {"200", "201", "202", "207"}
SSE = "text/event-stream"
EVENT_STREAMS = {("get", "/events"), ("get", "/articles/{article_id}/events")}
# Routes owned elsewhere that still answer a bare `dict`: their schema is a plain object.
# Drop an entry once its route declares a response model.
UNNAMED_OK = {
    ("get", "/health"),
}


@pytest.fixture(scope="module")
def spec() -> Iterator[dict[str, Any]]:
    settings = offline_settings()
    with TestClient(create_app(settings)) as client:
        answer = client.get("/openapi.json")
        assert answer.status_code == 200
        yield answer.json()


def successes(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code in SUCCESS:
                    yield method, path, code, response


def refs(schema: dict[str, Any]) -> list[str]:
    """The component names a schema points at, directly or through anyOf/oneOf."""
    if "$ref" in schema:
        return [schema["$ref"].rsplit("/", 1)[-1]]
    return [
        name for option in schema.get("anyOf", schema.get("oneOf", [])) for name in refs(option)
    ]


def test_every_success_response_has_a_schema(spec: dict[str, Any]) -> None:
    found = list(successes(spec))
    assert len({(m, p) for m, p, _, _ in found}) >= 10  # every route was seen
    for method, path, code, response in found:
        media = SSE if (method, path) in EVENT_STREAMS else "application/json"
        schema = response.get("content", {}).get(media, {}).get("schema")
        assert schema, f"{method.upper()} {path} {code} has no response schema"
        if (method, path) not in UNNAMED_OK:
            names = refs(schema)
            assert names, f"{method.upper()} {path} {code}: not a named model: {schema}"
            for name in names:
                assert spec["components"]["schemas"][name]["properties"], name


@pytest.mark.parametrize(
    ("method", "path", "code", "models"),
    [
        ("post", "/articles", "202", ["Accepted"]),
        ("post", "/articles", "200", ["Accepted"]),
        ("post", "/articles/batch", "202", ["BatchAccepted"]),
        ("get", "/articles/{article_id}", "200", ["Article", "ArticleInFlight"]),
        ("get", "/articles", "200", ["ArticlePage"]),
        ("get", "/entities", "200", ["EntityList"]),
        ("get", "/ready", "200", ["Readiness"]),
        ("get", "/health/pipeline", "200", ["PipelineHealth"]),
        ("post", "/webhooks", "201", ["WebhookCreated"]),
        ("get", "/webhooks", "200", ["WebhookList"]),
        ("get", "/webhooks/{webhook_id}", "200", ["Webhook"]),
        ("get", "/webhooks/{webhook_id}/deliveries", "200", ["DeliveryPage"]),
    ],
)
def test_each_read_and_write_names_its_model(
    spec: dict[str, Any], method: str, path: str, code: str, models: list[str]
) -> None:
    schema = spec["paths"][path][method]["responses"][code]["content"]["application/json"]
    assert refs(schema["schema"]) == models


def test_models_carry_the_fields_clients_rely_on(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert fields("Article") == {
        "id", "status", "title", "text", "metadata", "language", "entities",
        "entity_groups", "entities_status", "entities_reason", "model", "error",
    }  # fmt: skip
    assert fields("ArticleSummary") == {
        "id", "status", "title", "source", "language", "stored_at", "entity_count", "error",
    }  # fmt: skip
    assert fields("ArticlePage") == {"items", "next_cursor"}
    assert fields("EntityCount") == {"text", "label", "article_count"}
    assert fields("ArticleEntity") == {"text", "label", "model_label", "start", "end"}
    assert fields("ArticleEntityGroup") == {
        "name", "label", "count", "salience", "first_start", "mentions",
    }  # fmt: skip
    assert fields("Failure") == {"stage", "reason", "attempts", "last_error_at"}
    assert fields("BatchItem") == {"index", "id", "status", "duplicate", "error"}
    assert fields("ItemError") == {"field", "reason", "type", "loc"}
    assert {"errors", "accepted", "refused", "ids", "items"} <= fields("BatchAccepted")
    assert schemas["Failure"]["properties"]["last_error_at"]["anyOf"][0]["format"] == "date-time"


@pytest.mark.parametrize(("method", "path"), sorted(EVENT_STREAMS))
def test_event_streams_document_their_events(spec: dict[str, Any], method: str, path: str) -> None:
    content = spec["paths"][path][method]["responses"]["200"]["content"]
    assert list(content) == [SSE]
    assert refs(content[SSE]["schema"]) == ["Event"]
    assert set(spec["components"]["schemas"]["Event"]["properties"]) == {
        "article_id", "status", "stage", "at", "reason",
    }  # fmt: skip


def test_webhook_secrets_are_shown_only_at_registration(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "secret" in schemas["WebhookCreated"]["properties"]
    assert "secret" not in schemas["Webhook"]["properties"]
    assert set(schemas["DeliveryCounts"]["properties"]) == {
        "deliveries", "pending", "retrying", "delivered", "failed", "attempts", "retried",
    }  # fmt: skip
