"""The command line's client against the real gateway app (Redis and PostgreSQL down):
the batch size it reads from /openapi.json, the refusals it reports, the 503 and its
Retry-After, the key errors. It catches a drift between the client and the routes that
the in-memory fake gateway would hide."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from cli.client import ApiError, Client
from cli.files import Input
from cli.submit import Submitter
from services.gateway.app import create_app
from tests.unit.offline import API_KEY, offline_settings

MAX_BATCH = 7


@pytest.fixture(scope="module")
def gateway() -> Iterator[TestClient]:
    settings = offline_settings(max_batch_size=MAX_BATCH)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def client(gateway: TestClient, sleeps: list[float], key: str | None = API_KEY) -> Client:
    def forward(request: httpx.Request) -> httpx.Response:
        answer = gateway.request(
            request.method,
            request.url.path,
            params=request.url.params,
            content=request.content,
            headers=request.headers,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return Client(
        "http://gateway.test", key, transport=httpx.MockTransport(forward), sleep=sleeps.append
    )


def test_the_batch_size_is_the_gateways_max_batch_size(gateway: TestClient) -> None:
    assert client(gateway, []).batch_limit() == MAX_BATCH


def test_refused_articles_are_reported_with_the_gateways_field_and_reason(
    gateway: TestClient,
) -> None:
    # Every article refused: the gateway answers 202 item by item without a backend.
    inputs: list[Input] = [
        Input("a.txt", article={"text": "   "}),
        Input("b.jsonl:2", article={"text": "x", "title": "bip\u0007"}),
        Input("c.jsonl:1", article={"text": "x", "lang": "fr"}),
    ]
    submitter = Submitter(client(gateway, []))
    outcome = submitter.submit(inputs, submitter.batch_size())
    assert outcome.accepted == []
    assert [(r.origin, r.reason.split(":")[0]) for r in outcome.refused] == [
        ("a.txt", "text"),
        ("b.jsonl:2", "title"),
        ("c.jsonl:1", "lang"),
    ]
    assert "control character U+0007" in outcome.refused[1].reason
    assert outcome.exit_code == 1


def test_a_backend_down_is_retried_per_retry_after_then_reported(gateway: TestClient) -> None:
    sleeps: list[float] = []
    with pytest.raises(ApiError) as raised:
        client(gateway, sleeps).submit_batch([{"text": "Bonjour tout le monde."}])
    assert raised.value.status == 503
    assert sleeps == [5.0] * 5  # the gateway's Retry-After: 5, six attempts in all
    assert "HTTP 503, still after 6 attempts" in str(raised.value)
    assert "Redis or PostgreSQL" in str(raised.value)


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong", 403)])
def test_key_errors(gateway: TestClient, key: str | None, status: int) -> None:
    with pytest.raises(ApiError) as raised:
        client(gateway, [], key=key).submit_batch([{"text": "x"}])
    assert raised.value.status == status
    assert "NEWSFLOW_API_KEY" in str(raised.value)
