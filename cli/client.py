"""A small typed client of the gateway's HTTP API (services/gateway/routes, redrive.py).

The response types mirror services/gateway/schemas.py as TypedDicts (the command line
does not import the server's pydantic models). 429 and 503 answers are retried, waiting
what `Retry-After` says, a bounded number of times; every other failure raises
NewsflowError with a one-line message.
"""

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict, cast
from urllib.parse import quote

import httpx

RETRY_STATUSES = frozenset({429, 503})
MAX_ATTEMPTS = 6
MAX_WAIT_S = 300.0  # a Retry-After beyond this is cut to it
DEFAULT_BATCH_SIZE = 1000  # MAX_BATCH_SIZE's default, when /openapi.json does not say
PAGE_SIZE = 100  # GET /articles: largest `limit`
ENTITIES_LIMIT = 500  # GET /entities: largest `limit`
KEY_HINT = "set NEWSFLOW_API_KEY, or api_key in the config file"


class ItemError(TypedDict):
    field: str | None
    reason: str
    type: str
    loc: list[str | int]


class BatchItem(TypedDict):
    index: int
    id: str | None
    status: str  # queued, the known status of a duplicate, or refused
    duplicate: bool
    error: ItemError | None


class BatchAccepted(TypedDict):
    errors: bool
    accepted: int
    refused: int
    ids: list[str]
    items: list[BatchItem]


class Failure(TypedDict):
    stage: str | None
    reason: str | None
    attempts: int | None
    last_error_at: str | None


class ArticleSummary(TypedDict):
    id: str
    status: str
    title: str | None
    source: str | None
    language: str | None
    stored_at: str | None
    entity_count: int
    error: Failure | None


class ArticlePage(TypedDict):
    items: list[ArticleSummary]
    next_cursor: str | None


class EntityCount(TypedDict):
    text: str
    label: str
    article_count: int


class EntityList(TypedDict):
    items: list[EntityCount]


class Redrive(TypedDict):
    id: str
    status: str | None
    stage: str | None
    redriven: bool


class RedriveAll(TypedDict):
    redriven: int
    skipped: int
    ids: list[str]


# GET /articles/{id}: an Article (stored or failed) or an ArticleInFlight, kept as the
# API gives it (`get --json` and `export` pass it on unchanged).
Article = dict[str, Any]


class NewsflowError(Exception):
    """A call that did not succeed; str() is the line shown to the user."""


class ApiError(NewsflowError):
    """The gateway answered with an error status."""

    def __init__(
        self, status: int, message: str, type_: str | None = None, loc: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.loc = loc or []

    @property
    def batch_too_large(self) -> bool:
        """The batch as a whole was too big (bytes: 413, articles: 422 too_long)."""
        return self.status == 413 or (
            self.status == 422 and self.type == "too_long" and self.loc[-1:] == ["articles"]
        )


def retry_delay(response: httpx.Response, attempt: int, now: datetime | None = None) -> float:
    """Seconds to wait before the next attempt: Retry-After (seconds or an HTTP date),
    else 1, 2, 4, ... s; at most MAX_WAIT_S."""
    header = response.headers.get("retry-after", "").strip()
    delay: float | None = None
    if header:
        try:
            delay = float(header)
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                delay = (when - (now or datetime.now(UTC))).total_seconds()
    if delay is None:
        delay = float(2 ** (attempt - 1))
    return min(max(delay, 0.0), MAX_WAIT_S)


def _error_message(response: httpx.Response) -> tuple[str, str | None, list[Any]]:
    """The gateway's `{"detail": [{"loc", "msg", "type"}]}`, or whatever came back."""
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip()[:200] or response.reason_phrase), None, []
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        loc = first.get("loc") or []
        where = ".".join(str(part) for part in loc)
        msg = str(first.get("msg", ""))
        return (f"{where}: {msg}" if where else msg), first.get("type"), loc
    if isinstance(detail, str):
        return detail, None, []
    return response.text.strip()[:200], None, []


class Client:
    """One gateway. `sleep` is what waits between attempts (tests pass a fake)."""

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
        timeout: float = 120.0,
    ) -> None:
        headers = {"User-Agent": "newsflow-cli"}
        if api_key:
            headers["X-API-Key"] = api_key
        self.url = url
        self._http = httpx.Client(
            base_url=url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
        )
        self._sleep = sleep
        self._max_attempts = max(1, max_attempts)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, params=params, json=json)
            except httpx.TimeoutException as exc:
                raise NewsflowError(
                    f"Newsflow at {self.url} did not answer in time ({type(exc).__name__})"
                ) from exc
            except httpx.TransportError as exc:
                raise NewsflowError(
                    f"cannot reach Newsflow at {self.url} ({exc}); is NEWSFLOW_URL right?"
                ) from exc
            if response.status_code not in RETRY_STATUSES or attempt >= self._max_attempts:
                break
            self._sleep(retry_delay(response, attempt))
        if response.is_success:
            return response
        raise self._error(response, attempt)

    def _error(self, response: httpx.Response, attempts: int) -> ApiError:
        status = response.status_code
        message, type_, loc = _error_message(response)
        if status == 401:
            text = f"no API key was sent and {self.url} needs one: {KEY_HINT}"
        elif status == 403:
            text = f"the API key was refused by {self.url} (wrong key?): {KEY_HINT}"
        elif status in RETRY_STATUSES:
            text = f"HTTP {status}, still after {attempts} attempts: {message}"
        else:
            text = f"HTTP {status}: {message}"
        return ApiError(status, text, type_, loc)

    # --- endpoints -------------------------------------------------------------------

    def batch_limit(self) -> int | None:
        """The server's MAX_BATCH_SIZE, as its /openapi.json documents the batch body
        (`maxItems`); None when it does not say."""
        try:
            spec = self._request("GET", "/openapi.json").json()
            schema = spec["paths"]["/articles/batch"]["post"]["requestBody"]["content"]
            limit = schema["application/json"]["schema"]["properties"]["articles"]["maxItems"]
            return int(limit) if int(limit) > 0 else None
        except ApiError:
            return None
        except (KeyError, TypeError, ValueError):
            return None

    def submit_batch(self, articles: list[dict[str, Any]]) -> BatchAccepted:
        """POST /articles/batch: 202 with one item per article, in order."""
        response = self._request("POST", "/articles/batch", json={"articles": articles})
        return cast(BatchAccepted, response.json())

    def article(self, article_id: str) -> Article:
        """GET /articles/{id}: ApiError 404 for an unknown id."""
        return cast(Article, self._request("GET", f"/articles/{quote(article_id, safe='')}").json())

    def list_articles(
        self, filters: Mapping[str, str | None], *, limit: int, cursor: str | None = None
    ) -> ArticlePage:
        params: dict[str, str | int] = {k: v for k, v in filters.items() if v is not None}
        params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        return cast(ArticlePage, self._request("GET", "/articles", params=params).json())

    def articles(
        self, filters: Mapping[str, str | None], *, limit: int | None = None
    ) -> Iterator[ArticleSummary]:
        """Every matching article summary (up to `limit`), following `next_cursor`."""
        cursor: str | None = None
        seen = 0
        while limit is None or seen < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - seen)
            page = self.list_articles(filters, limit=size, cursor=cursor)
            for item in page["items"]:
                if limit is not None and seen >= limit:
                    return
                yield item
                seen += 1
            cursor = page["next_cursor"]
            if not cursor or not page["items"]:
                return

    def entities(
        self, *, label: str | None = None, q: str | None = None, limit: int = 50
    ) -> list[EntityCount]:
        params: dict[str, str | int] = {"limit": limit}
        if label:
            params["label"] = label
        if q:
            params["q"] = q
        answer = cast(EntityList, self._request("GET", "/entities", params=params).json())
        return answer["items"]

    def retry(self, article_id: str) -> Redrive:
        """POST /articles/{id}/retry: 409 when the article is not failed."""
        return cast(
            Redrive, self._request("POST", f"/articles/{quote(article_id, safe='')}/retry").json()
        )

    def retry_failed(self, limit: int = 1000) -> RedriveAll:
        """POST /articles/retry-failed: every failed article, oldest first, up to `limit`."""
        response = self._request("POST", "/articles/retry-failed", params={"limit": limit})
        return cast(RedriveAll, response.json())
