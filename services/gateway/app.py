"""The HTTP API: submit articles, follow them through the pipeline, search the results.

The gateway only enqueues by task name and reads PostgreSQL; it never imports NLP code.
"""

import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.orm import sessionmaker

from services.gateway import queries
from services.gateway.errors import (
    BACKEND_ERRORS,
    ApiError,
    ApiErrors,
    api_error_handler,
    backend_unavailable_handler,
)
from services.gateway.health import health_router
from services.gateway.intake import parse_batch, parse_single, read_body
from services.gateway.redrive import redrive_router
from services.gateway.schemas import Accepted, BatchAccepted, Limits, submission_schema
from services.gateway.security import (
    Caller,
    charge_write,
    install,
    require_key,
    require_read,
    require_write,
)
from services.gateway.service import Gateway
from shared.celery_app import create_celery_app
from shared.db.session import make_engine
from shared.logging import configure_logging
from shared.settings import Settings, get_settings
from shared.status import StatusStore, redis_client

log = logging.getLogger(__name__)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "model": ApiErrors}


_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("No API key (send X-API-Key or Authorization: Bearer)"),
    403: _error("Wrong API key"),
}
_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_AUTH_RESPONSES,
    413: _error("Body too large"),
    415: _error("Unsupported content type (binary data)"),
    422: _error("Invalid article: the field and the problem are named"),
    429: _error("Write rate limit of this API key exceeded (see Retry-After)"),
    503: _error("Redis or PostgreSQL unavailable: nothing was accepted, retry"),
}


def _submit_body(limits: Limits) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1, "maxLength": limits.text}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": submission_schema(limits)},
                "text/plain": {"schema": text},
                "text/html": {"schema": text},
            },
        }
    }


def _batch_body(limits: Limits, max_items: int) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["articles"],
                        "additionalProperties": False,
                        "properties": {
                            "articles": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": max_items,
                                "items": submission_schema(limits),
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
        routed_languages=settings.entities_routed(),
    )

    app = FastAPI(
        title="Newsflow",
        version="0.1.0",
        description="Submit news articles; read back clean text, languages and named entities.",
    )
    app.add_exception_handler(ApiError, api_error_handler)
    install(app, settings, redis)
    if settings.cors_origin_list():
        # Browsers on these origins may call the API (with their key); no cookies.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            allow_credentials=False,
        )
    limits = Limits.from_settings(settings)
    for unavailable in BACKEND_ERRORS:
        app.add_exception_handler(unavailable, backend_unavailable_handler)

    @app.post(
        "/articles",
        status_code=202,
        response_model=Accepted,
        responses={200: {"model": Accepted, "description": "Already known"}, **_WRITE_RESPONSES},
        openapi_extra=_submit_body(limits),
    )
    async def submit_article(
        request: Request, caller: Annotated[Caller, Depends(require_key)]
    ) -> JSONResponse:
        """Submit one article as JSON, a `text/plain` body or a `text/html` page."""
        # Key, then validation, then the rate limit: nothing touches Redis before both.
        body = await read_body(request, settings.max_body_bytes)
        submission = parse_single(request, body, limits)
        await charge_write(request, caller)
        [accepted] = await run_in_threadpool(gateway.accept, [submission])
        return JSONResponse(accepted.model_dump(), status_code=200 if accepted.duplicate else 202)

    @app.post(
        "/articles/batch",
        status_code=202,
        response_model=BatchAccepted,
        responses=_WRITE_RESPONSES,
        openapi_extra=_batch_body(limits, settings.max_batch_size),
    )
    async def submit_batch(
        request: Request, caller: Annotated[Caller, Depends(require_key)]
    ) -> BatchAccepted:
        """Submit up to MAX_BATCH_SIZE articles; ids come back in the same order.

        A batch counts as one write request against the rate limit."""
        body = await read_body(request, settings.max_batch_body_bytes)
        submissions = parse_batch(request, body, settings.max_batch_size, limits)
        await charge_write(request, caller)
        items = await run_in_threadpool(gateway.accept, submissions)
        return BatchAccepted(ids=[item.id for item in items], items=items)

    reads: dict[str, Any] = {"dependencies": [Depends(require_read)], "responses": _AUTH_RESPONSES}

    @app.get("/articles/{article_id}", **reads)
    def get_article(article_id: str) -> dict[str, Any]:
        """The article's status from the moment it is accepted; everything once stored."""
        found = gateway.article(article_id)
        if found is None:
            raise ApiError(404, ["path", "article_id"], "no article with this id", "not_found")
        return found

    @app.get("/articles", **reads)
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

    @app.get("/entities", **reads)
    def list_entities(
        label: Annotated[str | None, Query(pattern="^(PER|ORG|LOC|MISC)$")] = None,
        q: Annotated[str | None, Query(description="Prefix of the entity text")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """Distinct entities across stored articles, with how many articles mention each."""
        with gateway.sessions() as session:
            return {"items": queries.list_entities(session, label=label, q=q, limit=limit)}

    app.include_router(health_router(redis, engine, settings))
    app.include_router(
        redrive_router(gateway), dependencies=[Depends(require_write)], responses=_AUTH_RESPONSES
    )
    return app


app = create_app()
