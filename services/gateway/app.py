"""The HTTP API: submit articles, follow them through the pipeline, search the results.

The gateway only enqueues by task name and reads PostgreSQL; it never imports NLP code.
"""

import logging
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from services.gateway import queries
from services.gateway.errors import (
    BACKEND_ERRORS,
    ApiError,
    api_error_handler,
    backend_unavailable_handler,
)
from services.gateway.intake import parse_batch, parse_single, read_body
from services.gateway.schemas import Accepted, ArticleSubmission, BatchAccepted
from services.gateway.service import Gateway
from shared.celery_app import create_celery_app
from shared.db.session import make_engine
from shared.logging import configure_logging
from shared.settings import Settings, get_settings
from shared.status import StatusStore, redis_client

log = logging.getLogger(__name__)

_SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ArticleSubmission.model_json_schema()},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["articles"],
                    "properties": {
                        "articles": {
                            "type": "array",
                            "items": ArticleSubmission.model_json_schema(),
                        }
                    },
                }
            }
        },
    }
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    redis = redis_client(settings.redis_url)
    engine = make_engine(settings.database_url, read_only=True)
    gateway = Gateway(
        celery=create_celery_app("gateway"),
        status=StatusStore(redis, settings.status_ttl_seconds),
        sessions=sessionmaker(engine),
    )

    app = FastAPI(
        title="Newsflow",
        version="0.1.0",
        description="Submit news articles; read back clean text, languages and named entities.",
    )
    app.add_exception_handler(ApiError, api_error_handler)
    for unavailable in BACKEND_ERRORS:
        app.add_exception_handler(unavailable, backend_unavailable_handler)

    @app.post("/articles", status_code=202, response_model=Accepted, openapi_extra=_SUBMIT_BODY)
    async def submit_article(request: Request) -> JSONResponse:
        """Submit one article as JSON or as a `text/plain` body."""
        body = await read_body(request, settings.max_body_bytes)
        submission = parse_single(request, body, settings.max_text_chars)
        [accepted] = await run_in_threadpool(gateway.accept, [submission])
        return JSONResponse(accepted.model_dump(), status_code=200 if accepted.duplicate else 202)

    @app.post(
        "/articles/batch", status_code=202, response_model=BatchAccepted, openapi_extra=_BATCH_BODY
    )
    async def submit_batch(request: Request) -> BatchAccepted:
        """Submit up to MAX_BATCH_SIZE articles; ids come back in the same order."""
        body = await read_body(request, settings.max_batch_body_bytes)
        submissions = parse_batch(request, body, settings.max_batch_size, settings.max_text_chars)
        items = await run_in_threadpool(gateway.accept, submissions)
        return BatchAccepted(ids=[item.id for item in items], items=items)

    @app.get("/articles/{article_id}")
    def get_article(article_id: str) -> dict[str, Any]:
        """The article's status from the moment it is accepted; everything once stored."""
        found = gateway.article(article_id)
        if found is None:
            raise ApiError(404, ["path", "article_id"], "no article with this id", "not_found")
        return found

    @app.get("/articles")
    def list_articles(
        language: str | None = None,
        entity: Annotated[str | None, Query(description="Exact entity text, any case")] = None,
        label: Annotated[str | None, Query(pattern="^(PER|ORG|LOC|MISC)$")] = None,
        q: Annotated[str | None, Query(description="Full-text search")] = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Stored (and failed) articles, newest first, filtered, paginated by cursor."""
        try:
            with gateway.sessions() as session:
                items, next_cursor = queries.list_articles(
                    session,
                    language=language,
                    entity=entity,
                    label=label,
                    q=q,
                    status=status,
                    limit=limit,
                    cursor=cursor,
                )
        except ValueError as exc:
            raise ApiError(422, ["query", "cursor"], str(exc), "cursor_invalid") from exc
        return {"items": items, "next_cursor": next_cursor}

    @app.get("/entities")
    def list_entities(
        label: Annotated[str | None, Query(pattern="^(PER|ORG|LOC|MISC)$")] = None,
        q: Annotated[str | None, Query(description="Prefix of the entity text")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """Distinct entities across stored articles, with how many articles mention each."""
        with gateway.sessions() as session:
            return {"items": queries.list_entities(session, label=label, q=q, limit=limit)}

    @app.get("/health")
    def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/ready")
    def ready() -> JSONResponse:
        """Redis and PostgreSQL are reachable."""
        checks: dict[str, str] = {}
        try:
            redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["postgres"] = "ok"
        except Exception as exc:
            checks["postgres"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "unavailable", **checks}, status_code=200 if ok else 503
        )

    return app


app = create_app()
