"""/articles: submit one article or a batch, read one, list and search them.

Thin routes: parsing and validation live in intake.py, the work in service.py (Gateway),
the SQL in queries.py; the settings and the Gateway come as dependencies (deps.py).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.gateway.errors import ApiError
from services.gateway.intake import batch_answer, parse_batch, parse_single, read_body
from services.gateway.routes.deps import (
    AUTH_RESPONSES,
    WRITE_RESPONSES,
    GatewayDep,
    SettingsDep,
    error,
)
from services.gateway.schemas import (
    Accepted,
    Article,
    ArticleInFlight,
    ArticlePage,
    ArticleSubmission,
    BatchAccepted,
    Limits,
    submission_schema,
)
from services.gateway.security import Caller, charge_write, require_key, require_read
from shared.settings import Settings


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


def articles_router(settings: Settings) -> APIRouter:
    """`settings` only documents this deployment's limits in OpenAPI; the routes read
    theirs through the SettingsDep dependency."""
    limits = Limits.from_settings(settings)
    router = APIRouter(prefix="/articles", tags=["articles"])
    reads: dict[str, Any] = {"dependencies": [Depends(require_read)], "responses": AUTH_RESPONSES}

    @router.post(
        "",
        status_code=202,
        response_model=Accepted,
        responses={200: {"model": Accepted, "description": "Already known"}, **WRITE_RESPONSES},
        openapi_extra=_submit_body(limits),
    )
    async def submit_article(
        request: Request,
        caller: Annotated[Caller, Depends(require_key)],
        settings: SettingsDep,
        gateway: GatewayDep,
    ) -> JSONResponse:
        """Submit one article as JSON, a `text/plain` body or a `text/html` page."""
        # Key, then validation, then the rate limit: nothing touches Redis before both.
        body = await read_body(request, settings.max_body_bytes)
        submission = parse_single(request, body, Limits.from_settings(settings))
        await charge_write(request, caller)
        [accepted] = await run_in_threadpool(gateway.accept, [submission])
        return JSONResponse(accepted.model_dump(), status_code=200 if accepted.duplicate else 202)

    @router.post(
        "/batch",
        status_code=202,
        response_model=BatchAccepted,
        responses=WRITE_RESPONSES,
        openapi_extra=_batch_body(limits, settings.max_batch_size),
    )
    async def submit_batch(
        request: Request,
        caller: Annotated[Caller, Depends(require_key)],
        settings: SettingsDep,
        gateway: GatewayDep,
    ) -> BatchAccepted:
        """Submit up to MAX_BATCH_SIZE articles; one item per article comes back, in order.

        Each article is accepted or refused on its own, like Elasticsearch's `_bulk`: a
        well-formed batch answers 202, with `errors: true` when any article was refused
        (its item holds `error: {field, reason, type, loc}`), and the others are queued.
        A problem of the batch itself (not JSON, not a list, empty, over MAX_BATCH_SIZE
        or MAX_BATCH_BODY_BYTES) refuses it whole with a 4xx. A batch counts as one write
        request against the rate limit (none when every article is refused)."""
        body = await read_body(request, settings.max_batch_body_bytes)
        parsed = parse_batch(request, body, settings.max_batch_size, Limits.from_settings(settings))
        valid = [item for item in parsed if isinstance(item, ArticleSubmission)]
        accepted: list[Accepted] = []
        if valid:
            await charge_write(request, caller)
            accepted = await run_in_threadpool(gateway.accept, valid)
        return batch_answer(parsed, accepted)

    @router.get(
        "/{article_id}",
        response_model=Article | ArticleInFlight,
        dependencies=[Depends(require_read)],
        responses={**AUTH_RESPONSES, 404: error("No article with this id")},
    )
    def get_article(article_id: str, gateway: GatewayDep) -> Article | ArticleInFlight:
        """The article's status from the moment it is accepted (ArticleInFlight); all of
        it once stored or failed (Article)."""
        found = gateway.article(article_id)
        if found is None:
            raise ApiError(404, ["path", "article_id"], "no article with this id", "not_found")
        return found

    @router.get("", response_model=ArticlePage, **reads)
    def list_articles(
        gateway: GatewayDep,
        language: str | None = None,
        entity: Annotated[str | None, Query(description="Exact entity text, any case")] = None,
        label: Annotated[str | None, Query(pattern="^(PER|ORG|LOC|MISC)$")] = None,
        q: Annotated[str | None, Query(description="Full-text search")] = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: str | None = None,
    ) -> ArticlePage:
        """Stored (and failed) articles, newest first, filtered, paginated by cursor."""
        try:
            items, next_cursor = gateway.list_articles(
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
        return ArticlePage(items=items, next_cursor=next_cursor)

    return router
