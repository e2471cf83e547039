"""An in-memory stand-in for the gateway's HTTP API, behind httpx.MockTransport.

It answers the routes the command line calls with the shapes of services/gateway/schemas.py
and records every request, so the CLI tests check what was sent as well as what is shown.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from cli.main import Runtime

KEY = "test-key"
URL = "http://newsflow.test"


def article_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def stored_article(aid: str, title: str = "Titre", text: str = "Texte.") -> dict[str, Any]:
    """An Article as GET /articles/{id} answers it once stored."""
    return {
        "id": aid,
        "status": "stored",
        "title": title,
        "text": text,
        "metadata": {
            "source": "Reuters",
            "url": f"https://example.org/{aid}",
            "external_id": None,
            "published_at": None,
            "received_at": "2025-02-25T10:00:00+00:00",
            "stored_at": "2025-02-25T10:00:05+00:00",
            "content_hash": "h",
            "duplicate_of": None,
            "dateline": None,
            "removed": [],
        },
        "language": {
            "code": "fr",
            "confidence": 0.99,
            "detector": "vote",
            "reason": None,
            "paragraphs": [],
        },
        "entities": [
            {"text": "Poutine", "label": "PER", "model_label": "PER", "start": 0, "end": 7},
            {
                "text": "Vladimir Poutine",
                "label": "PER",
                "model_label": "PER",
                "start": 9,
                "end": 25,
            },
            {"text": "Moscou", "label": "LOC", "model_label": "LOC", "start": 30, "end": 36},
        ],
        "entity_groups": [
            {
                "name": "Vladimir Poutine",
                "label": "PER",
                "count": 2,
                "salience": 0.67,
                "first_start": 0,
                "mentions": [{"start": 0, "end": 7}, {"start": 9, "end": 25}],
            },
            {
                "name": "Moscou",
                "label": "LOC",
                "count": 1,
                "salience": 0.33,
                "first_start": 30,
                "mentions": [{"start": 30, "end": 36}],
            },
        ],
        "entities_status": "extracted",
        "entities_reason": None,
        "model": {"name": "fr_core_news_md", "version": "3.8.0"},
        "error": None,
    }


def failed_article(aid: str, stage: str, reason: str) -> dict[str, Any]:
    article = stored_article(aid)
    article.update(status="failed", entities=[], entity_groups=[], entities_status=None)
    article["error"] = {"stage": stage, "reason": reason, "attempts": 3, "last_error_at": None}
    return article


def summary(article: dict[str, Any]) -> dict[str, Any]:
    """The ArticleSummary of an article, as GET /articles lists it."""
    return {
        "id": article["id"],
        "status": article["status"],
        "title": article["title"],
        "source": article["metadata"]["source"],
        "language": (article.get("language") or {}).get("code"),
        "stored_at": article["metadata"]["stored_at"],
        "entity_count": len(article["entities"]),
        "error": article["error"],
    }


def error(status: int, msg: str, type_: str, loc: list[Any] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"detail": [{"loc": loc or [], "msg": msg, "type": type_}]})


@dataclass
class FakeGateway:
    max_batch: int | None = 1000  # maxItems in /openapi.json; None: not documented
    # Articles whose text contains a key end with that status (and reason) ...
    outcomes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # ... after this many GETs in flight (status `ingested`).
    polls_in_flight: int = 1
    known: dict[str, str] = field(default_factory=dict)  # id -> status, answered as duplicates
    stored: list[dict[str, Any]] = field(default_factory=list)  # what GET /articles lists
    page_size: int | None = None  # overrides `limit` of GET /articles
    # Answers given before the normal one, per "METHOD /path" (e.g. a 429 first).
    queued: dict[str, list[httpx.Response]] = field(default_factory=dict)
    # A batch of more articles than this answers 413 (MAX_BATCH_BODY_BYTES).
    max_batch_articles_413: int | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def runtime(self, **kwargs: Any) -> Runtime:
        environ = {"NEWSFLOW_URL": URL, "NEWSFLOW_API_KEY": KEY, "HOME": "/nonexistent"}
        environ.update(kwargs.pop("environ", {}))
        return Runtime(environ=environ, transport=self.transport(), **kwargs)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    # --- routes -------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        route = f"{request.method} {path}"
        if self.queued.get(route):
            return self.queued[route].pop(0)
        if path == "/openapi.json":
            return self.openapi()
        if request.headers.get("x-api-key") is None:
            return error(401, "an API key is required", "missing_api_key", ["header", "X-API-Key"])
        if request.headers["x-api-key"] != KEY:
            return error(403, "the API key is not valid", "invalid_api_key")
        handlers: dict[str, Callable[[httpx.Request], httpx.Response]] = {
            "POST /articles/batch": self.batch,
            "GET /articles": self.list_articles,
            "GET /entities": self.entities,
            "POST /articles/retry-failed": self.retry_failed,
        }
        if route in handlers:
            return handlers[route](request)
        parts = path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 2 and parts[0] == "articles":
            return self.get_article(parts[1])
        if request.method == "POST" and len(parts) == 3 and parts[2] == "retry":
            return self.retry(parts[1])
        return error(404, "Not Found", "not_found")

    def openapi(self) -> httpx.Response:
        articles: dict[str, Any] = {"type": "array", "minItems": 1}
        if self.max_batch is not None:
            articles["maxItems"] = self.max_batch
        schema = {"type": "object", "properties": {"articles": articles}}
        body = {
            "paths": {
                "/articles/batch": {
                    "post": {"requestBody": {"content": {"application/json": {"schema": schema}}}}
                }
            }
        }
        return httpx.Response(200, json=body)

    def batch(self, request: httpx.Request) -> httpx.Response:
        articles = json.loads(request.content)["articles"]
        if self.max_batch is not None and len(articles) > self.max_batch:
            msg = f"batch has {len(articles)} articles; the limit is {self.max_batch}"
            return error(422, msg, "too_long", ["body", "articles"])
        if self.max_batch_articles_413 is not None and len(articles) > self.max_batch_articles_413:
            return error(413, "body exceeds the limit", "too_large", ["body"])
        self.batches.append(articles)
        items = []
        for index, article in enumerate(articles):
            text = article.get("text")
            if not isinstance(text, str) or not text.strip():
                reason = {"field": "text", "reason": "text must not be empty", "type": "blank"}
                loc = ["body", "articles", index, "text"]
                items.append(
                    {
                        "index": index,
                        "id": None,
                        "status": "refused",
                        "duplicate": False,
                        "error": {**reason, "loc": loc},
                    }
                )
                continue
            aid = article_id(text)
            duplicate = aid in self.known or aid in self.articles
            status = self.known.get(aid, "queued")
            self.articles.setdefault(aid, article)
            items.append(
                {"index": index, "id": aid, "status": status, "duplicate": duplicate, "error": None}
            )
        ids = [item["id"] for item in items if item["id"] is not None]
        body = {
            "errors": len(ids) < len(items),
            "accepted": len(ids),
            "refused": len(items) - len(ids),
            "ids": ids,
            "items": items,
        }
        return httpx.Response(202, json=body)

    def get_article(self, aid: str) -> httpx.Response:
        for article in self.stored:
            if article["id"] == aid:
                return httpx.Response(200, json=article)
        submitted = self.articles.get(aid)
        if submitted is None and aid not in self.known:
            return error(404, "no article with this id", "not_found", ["path", "article_id"])
        if self.known.get(aid) == "stored":
            return httpx.Response(200, json=stored_article(aid))
        if self.known.get(aid) == "failed":
            return httpx.Response(200, json=failed_article(aid, "entities", "known failure"))
        self.polls[aid] = self.polls.get(aid, 0) + 1
        text = (submitted or {}).get("text", "")
        status, reason = next(
            (outcome for key, outcome in self.outcomes.items() if key in text), ("stored", None)
        )
        if self.polls[aid] <= self.polls_in_flight or status not in {"stored", "failed"}:
            in_flight = "ingested" if status in {"stored", "failed"} else status
            return httpx.Response(200, json={"id": aid, "status": in_flight, "title": None})
        if status == "failed":
            stage, _, why = (reason or "entities: ?").partition(": ")
            return httpx.Response(200, json=failed_article(aid, stage, why))
        return httpx.Response(200, json=stored_article(aid, text=text))

    def list_articles(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        matching = [a for a in self.stored if params.get("status") in (None, a["status"])]
        start = int(params.get("cursor", "0"))
        size = self.page_size or int(params.get("limit", "20"))
        page = matching[start : start + size]
        more = start + size < len(matching)
        body = {
            "items": [summary(a) for a in page],
            "next_cursor": str(start + size) if more else None,
        }
        return httpx.Response(200, json=body)

    def entities(self, request: httpx.Request) -> httpx.Response:
        items = [
            {"text": "Vladimir Poutine", "label": "PER", "article_count": 2},
            {"text": "Moscou", "label": "LOC", "article_count": 1},
        ]
        label = request.url.params.get("label")
        return httpx.Response(
            200, json={"items": [i for i in items if label in (None, i["label"])]}
        )

    def retry(self, aid: str) -> httpx.Response:
        article = next((a for a in self.stored if a["id"] == aid), None)
        if article is None:
            return error(404, "no article with this id", "not_found", ["path", "article_id"])
        if article["status"] != "failed":
            msg = f"article is {article['status']}; only failed articles can be re-driven"
            return error(409, msg, "not_failed", ["path", "article_id"])
        stage = article["error"]["stage"]
        return httpx.Response(
            202, json={"id": aid, "status": "queued", "stage": stage, "redriven": True}
        )

    def retry_failed(self, request: httpx.Request) -> httpx.Response:
        ids = [a["id"] for a in self.stored if a["status"] == "failed"]
        return httpx.Response(202, json={"redriven": len(ids), "skipped": 0, "ids": ids})
