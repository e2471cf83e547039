"""API keys, open reads, CORS and input validation at the HTTP edge, without any backend.

Redis and PostgreSQL are unreachable here: every refusal below answers before a backend
is touched, and a valid authorised write gets 503, which proves the order
(key -> validation -> rate limit / enqueue).
"""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.security import Authenticator, key_id
from shared.settings import Settings

KEYS = ("first-key-0123456789", "second-key-abcdefghij")
GOOD = {"X-API-Key": KEYS[1]}
UNREACHABLE = {
    "redis_url": "redis://127.0.0.1:9/0",
    "postgres_host": "127.0.0.1",
    "postgres_port": 9,
    "log_json": False,
}


def make_client(**overrides: object) -> TestClient:
    settings = Settings(**{**UNREACHABLE, "api_keys": ",".join(KEYS), **overrides})  # type: ignore[arg-type]
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with make_client() as test_client:
        yield test_client


def detail(answer: object) -> dict[str, object]:
    return answer.json()["detail"][0]  # type: ignore[attr-defined,no-any-return]


WRITES = [
    ("/articles", {"json": {"text": "Bonjour tout le monde."}}),
    ("/articles/batch", {"json": {"articles": [{"text": "Bonjour."}]}}),
    ("/articles/abc/retry", {}),
    ("/articles/retry-failed", {}),
]
READS = ["/articles", "/articles/abc", "/entities"]


@pytest.mark.parametrize(("path", "kwargs"), WRITES)
def test_write_without_key_is_401_with_challenge(
    client: TestClient, path: str, kwargs: dict[str, object]
) -> None:
    answer = client.post(path, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert detail(answer)["type"] == "missing_api_key"
    assert detail(answer)["loc"] == ["header", "X-API-Key"]


@pytest.mark.parametrize(("path", "kwargs"), WRITES)
@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"X-API-Key": KEYS[0] + "x"},
        {"X-API-Key": KEYS[0][:-1]},
        {"X-API-Key": "clé-é".encode()},  # type: ignore[dict-item]  # non-ASCII bytes
    ],
)
def test_write_with_wrong_key_is_403(
    client: TestClient, path: str, kwargs: dict[str, object], headers: dict[str, str]
) -> None:
    answer = client.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 403
    assert detail(answer)["type"] == "invalid_api_key"


@pytest.mark.parametrize(("path", "kwargs"), WRITES)
@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": KEYS[0]},
        {"X-API-Key": KEYS[1]},
        {"Authorization": f"Bearer {KEYS[0]}"},
        {"Authorization": f"bearer {KEYS[1]}"},
    ],
)
def test_write_with_a_valid_key_reaches_the_backend(
    client: TestClient, path: str, kwargs: dict[str, object], headers: dict[str, str]
) -> None:
    answer = client.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 503, answer.text  # past auth and validation: Redis is down


def test_other_authorization_schemes_are_no_key(client: TestClient) -> None:
    answer = client.post("/articles", json={"text": "t"}, headers={"Authorization": "Basic eDp5"})
    assert answer.status_code == 401


def test_x_api_key_wins_over_bearer(client: TestClient) -> None:
    headers = {"X-API-Key": "wrong", "Authorization": f"Bearer {KEYS[0]}"}
    assert client.post("/articles", json={"text": "t"}, headers=headers).status_code == 403


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_key(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 403
    assert client.get(path, headers=GOOD).status_code == 503


@pytest.mark.parametrize("path", READS)
def test_public_read_opens_reads_only(path: str) -> None:
    with make_client(public_read=True) as open_client:
        assert open_client.get(path).status_code == 503  # no key asked: on to PostgreSQL
        assert open_client.post("/articles", json={"text": "t"}).status_code == 401


@pytest.mark.parametrize(
    "path", ["/health", "/ready", "/health/pipeline", "/docs", "/openapi.json"]
)
def test_operational_endpoints_stay_open(client: TestClient, path: str) -> None:
    assert client.get(path).status_code in (200, 503)  # /ready: 503, backends are down
    assert client.get(path).status_code != 401


def test_no_key_configured_locks_everything(capsys: pytest.CaptureFixture[str]) -> None:
    with make_client(api_keys="") as locked:
        assert locked.post("/articles", json={"text": "t"}).status_code == 401
        answer = locked.post("/articles", json={"text": "t"}, headers=GOOD)
        assert answer.status_code == 403
        assert "API_KEYS" in detail(answer)["msg"]  # type: ignore[operator]
        assert locked.get("/articles", headers=GOOD).status_code == 403
        assert locked.get("/health").status_code == 200
    assert "API_KEYS is empty" in capsys.readouterr().out


def test_keys_are_never_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level("DEBUG"), make_client(log_level="DEBUG") as test_client:
        test_client.post("/articles", json={"text": "t"}, headers={"X-API-Key": "wrong-key-xyz"})
        test_client.post("/articles", json={"text": "t"}, headers=GOOD)
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "403" in logged  # the requests were logged, without their keys
    assert KEYS[1] not in logged and "wrong-key-xyz" not in logged
    assert KEYS[0] not in repr(Settings(api_keys=",".join(KEYS)))  # type: ignore[arg-type]


def test_authenticator_compares_every_key() -> None:
    auth = Authenticator([" a ", "b"][1:])
    assert auth.check("b").key_id == key_id("b")
    assert len(key_id("b")) == 24 and key_id("b") != "b"


def test_settings_split_keys_and_origins() -> None:
    settings = Settings(api_keys=" k1, ,k2 ", cors_origins="https://a.org, https://b.org")  # type: ignore[arg-type]
    assert settings.api_key_list() == ["k1", "k2"]
    assert settings.cors_origin_list() == ["https://a.org", "https://b.org"]


def test_validation_answers_after_the_key_and_before_any_backend(client: TestClient) -> None:
    bad = client.post("/articles", json={"text": "a\u0000b"})
    assert bad.status_code == 401  # the key first: nothing about the body leaks
    bad = client.post("/articles", json={"text": "a\u0000b"}, headers=GOOD)
    assert bad.status_code == 422 and detail(bad)["loc"] == ["body", "text"]
    bad = client.post(
        "/articles", content=b"\x89PNG\r\n\x1a\n", headers={**GOOD, "Content-Type": "image/png"}
    )
    assert bad.status_code == 415
    bad = client.post("/articles", json={"text": "t", "url": "ftp://x"}, headers=GOOD)
    assert bad.status_code == 422 and detail(bad)["loc"] == ["body", "url"]
    bad = client.post("/articles", json={"text": "t", "extra": 1}, headers=GOOD)
    assert bad.status_code == 422 and detail(bad)["loc"] == ["body", "extra"]


def test_limits_come_from_settings() -> None:
    with make_client(max_title_chars=5, max_url_chars=20, max_external_id_chars=3) as small:
        for field, value in (
            ("title", "x" * 6),
            ("url", "https://x.org/" + "a" * 7),
            ("external_id", "abcd"),
        ):
            answer = small.post("/articles", json={"text": "t", field: value}, headers=GOOD)
            assert answer.status_code == 422
            assert detail(answer)["loc"] == ["body", field]
            assert detail(answer)["type"] == "too_long"
        ok = small.post("/articles", json={"text": "t", "title": "x" * 5}, headers=GOOD)
        assert ok.status_code == 503


def test_cors_is_off_unless_origins_are_set(client: TestClient) -> None:
    preflight = {"Origin": "https://news.example", "Access-Control-Request-Method": "POST"}
    assert (
        "access-control-allow-origin" not in client.options("/articles", headers=preflight).headers
    )
    with make_client(cors_origins="https://news.example") as cors:
        answer = cors.options("/articles", headers=preflight)
        assert answer.headers["access-control-allow-origin"] == "https://news.example"
        other = cors.options("/articles", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_openapi_declares_both_schemes_and_the_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    post = spec["paths"]["/articles"]["post"]
    assert {"ApiKey": []} in post["security"] and {"Bearer": []} in post["security"]
    assert set(post["requestBody"]["content"]) == {"application/json", "text/plain", "text/html"}
    props = post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert props["text"]["maxLength"] == Settings().max_text_chars
    assert "security" in spec["paths"]["/articles/{article_id}/retry"]["post"]
    assert "security" not in spec["paths"]["/health"]["get"]


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/entities?q=%00abc", ["query", "q"]),
        ("/articles?entity=a%00b", ["query", "entity"]),
        ("/articles?q=x&%C2%A1=%1B", ["query", "¡"]),
        ("/articles/ab%00cd", ["path", "article_id"]),
    ],
)
def test_control_characters_in_parameters_are_422(
    client: TestClient, path: str, loc: list[str]
) -> None:
    assert client.get(path).status_code == 401  # the key first
    answer = client.get(path, headers=GOOD)
    assert answer.status_code == 422 and detail(answer)["loc"] == loc
    retry = client.post("/articles/ab%00cd/retry", headers=GOOD)
    assert retry.status_code == 422 and detail(retry)["loc"] == ["path", "article_id"]
