"""With Redis and PostgreSQL unreachable, the gateway says so (503) instead of crashing."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from tests.unit.offline import KEY, offline_settings


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = offline_settings()
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_needs_no_backend(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_ready_reports_each_backend(client: TestClient) -> None:
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["redis"].startswith("error")
    assert answer.json()["postgres"].startswith("error")


def test_pipeline_health_is_503_without_redis(client: TestClient) -> None:
    answer = client.get("/health/pipeline")
    assert answer.status_code == 503
    assert answer.json()["detail"][0]["type"] == "service_unavailable"


def test_submit_is_503_with_retry_after(client: TestClient) -> None:
    answer = client.post("/articles", json={"text": "Bonjour tout le monde."}, headers=KEY)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["detail"][0]["type"] == "service_unavailable"


def test_validation_still_answers_without_backends(client: TestClient) -> None:
    answer = client.post("/articles", json={"text": ""}, headers=KEY)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "text"]
