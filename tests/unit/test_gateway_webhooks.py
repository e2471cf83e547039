"""/webhooks without a backend: every refusal (key, body, SSRF guard) answers before
PostgreSQL is touched; a registration that passes them gets 503 here, which proves the order.
The routes against PostgreSQL run in the e2e tests (tests/e2e/test_webhooks.py)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from tests.unit.offline import KEY, offline_settings

SECRET = "a-secret-of-some-length"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(offline_settings()), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://10.0.0.1/", "http://[::1]/"])
def test_registering_a_private_url_is_refused(client: TestClient, url: str) -> None:
    answer = client.post("/webhooks", json={"url": url, "events": ["stored"]}, headers=KEY)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "url_refused"
    assert answer.json()["detail"][0]["loc"] == ["body", "url"]


def test_private_urls_register_with_the_setting() -> None:
    settings = offline_settings(webhook_allow_private_urls=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as open_client:
        answer = open_client.post(
            "/webhooks", json={"url": "http://127.0.0.1:8080/", "events": ["stored"]}, headers=KEY
        )
    assert answer.status_code == 503  # past the guard, on to PostgreSQL (down here)


def test_a_public_url_passes_the_guard(client: TestClient) -> None:
    body = {"url": "https://8.8.8.8/hook", "events": ["stored", "failed"], "secret": SECRET}
    assert client.post("/webhooks", json=body, headers=KEY).status_code == 503


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://8.8.8.8/", "events": []},
        {"url": "https://8.8.8.8/", "events": ["queued"]},
        {"url": "https://8.8.8.8/", "events": ["stored"], "secret": "short"},
        {"url": "https://8.8.8.8/", "events": ["stored"], "secret": "line\nbreak-0123456789"},
        {"url": "https://8.8.8.8/", "events": ["stored"], "owner": "me"},
        {"events": ["stored"]},
    ],
)
def test_an_invalid_registration_is_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/webhooks", json=body, headers=KEY).status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/webhooks"),
        ("get", "/webhooks"),
        ("get", "/webhooks/x"),
        ("delete", "/webhooks/x"),
        ("get", "/webhooks/x/deliveries"),
    ],
)
def test_webhooks_always_need_a_key(method: str, path: str) -> None:
    settings = offline_settings(public_read=True)  # not even open reads show them
    with TestClient(create_app(settings), raise_server_exceptions=False) as open_client:
        assert open_client.request(method, path).status_code == 401
