"""The command line's HTTP client: retries on 429/503 honouring Retry-After, clear errors,
cursor paging, the server's batch size."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from cli.client import MAX_WAIT_S, ApiError, Client, NewsflowError, retry_delay
from tests.unit.fake_gateway import KEY, URL, FakeGateway, error, stored_article


def client_for(gateway: FakeGateway, sleeps: list[float], key: str | None = KEY) -> Client:
    return Client(URL, key, transport=gateway.transport(), sleep=sleeps.append)


def test_429_waits_what_retry_after_says_then_retries() -> None:
    gateway = FakeGateway()
    limited = error(429, "rate limit exceeded", "rate_limited")
    limited.headers["Retry-After"] = "7"
    gateway.queued["POST /articles/batch"] = [limited]
    sleeps: list[float] = []

    answer = client_for(gateway, sleeps).submit_batch([{"text": "Un article."}])

    assert answer["accepted"] == 1
    assert sleeps == [7.0]
    assert len(gateway.calls("POST", "/articles/batch")) == 2


def test_503_without_retry_after_backs_off_then_gives_up_with_a_clear_error() -> None:
    gateway = FakeGateway()
    down = error(503, "a backend (Redis or PostgreSQL) is unavailable", "service_unavailable")
    gateway.queued["GET /articles"] = [down] * 10
    sleeps: list[float] = []
    client = Client(URL, KEY, transport=gateway.transport(), sleep=sleeps.append, max_attempts=4)

    with pytest.raises(ApiError) as raised:
        client.list_articles({}, limit=5)

    assert raised.value.status == 503
    assert "still after 4 attempts" in str(raised.value)
    assert "unavailable" in str(raised.value)
    assert sleeps == [1.0, 2.0, 4.0]  # no wait after the last attempt
    assert len(gateway.calls("GET", "/articles")) == 4


def test_retry_after_as_an_http_date_and_its_bounds() -> None:
    now = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    dated = httpx.Response(
        503, headers={"Retry-After": format_datetime(now + timedelta(seconds=30), usegmt=True)}
    )
    assert retry_delay(dated, 1, now=now) == 30.0
    past = httpx.Response(
        429, headers={"Retry-After": format_datetime(now - timedelta(hours=1), usegmt=True)}
    )
    assert retry_delay(past, 1, now=now) == 0.0
    assert retry_delay(httpx.Response(429, headers={"Retry-After": "86400"}), 1) == MAX_WAIT_S
    assert retry_delay(httpx.Response(429, headers={"Retry-After": "soon"}), 3) == 4.0


def test_other_errors_are_not_retried() -> None:
    gateway = FakeGateway()
    sleeps: list[float] = []
    with pytest.raises(ApiError) as raised:
        client_for(gateway, sleeps).article("unknown")
    assert raised.value.status == 404
    assert str(raised.value) == "HTTP 404: path.article_id: no article with this id"
    assert sleeps == [] and len(gateway.requests) == 1


@pytest.mark.parametrize(
    ("key", "status", "words"), [(None, 401, "no API key"), ("bad", 403, "refused")]
)
def test_a_missing_or_wrong_key_says_where_to_set_it(
    key: str | None, status: int, words: str
) -> None:
    with pytest.raises(ApiError) as raised:
        client_for(FakeGateway(), [], key=key).article("x")
    assert raised.value.status == status
    assert words in str(raised.value) and "NEWSFLOW_API_KEY" in str(raised.value)


def test_an_unreachable_gateway_names_newsflow_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = Client(URL, KEY, transport=httpx.MockTransport(refuse), sleep=lambda _: None)
    with pytest.raises(NewsflowError) as raised:
        client.article("x")
    assert "cannot reach Newsflow at http://newsflow.test" in str(raised.value)
    assert "NEWSFLOW_URL" in str(raised.value)


def test_articles_follow_the_cursor_across_pages_up_to_the_limit() -> None:
    gateway = FakeGateway(stored=[stored_article(f"id{i:02d}") for i in range(7)], page_size=3)
    client = client_for(gateway, [])

    everything = [a["id"] for a in client.articles({"language": "fr", "entity": None})]
    assert everything == [f"id{i:02d}" for i in range(7)]
    pages = gateway.calls("GET", "/articles")
    assert [r.url.params.get("cursor") for r in pages] == [None, "3", "6"]
    assert all(r.url.params.get("language") == "fr" for r in pages)
    assert all("entity" not in r.url.params for r in pages)  # None: not sent

    first_four = [a["id"] for a in client.articles({}, limit=4)]
    assert first_four == ["id00", "id01", "id02", "id03"]


def test_the_batch_size_is_read_from_the_servers_openapi() -> None:
    assert client_for(FakeGateway(max_batch=250), []).batch_limit() == 250
    assert client_for(FakeGateway(max_batch=None), []).batch_limit() is None
