"""Operator endpoints: re-drive failed articles from the stage that failed."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from services.gateway.schemas import Redriven, RedrivenAll
from services.gateway.service import Gateway


def redrive_router(gateway: Gateway) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.post("/articles/retry-failed", status_code=202)
    async def retry_failed(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> RedrivenAll:
        """Re-drive every failed article (oldest failure first, up to `limit`).

        Idempotent: articles already re-driven and still in flight are skipped.
        """
        return await run_in_threadpool(gateway.redrive_all, limit)

    @router.post("/articles/{article_id}/retry", status_code=202)
    def retry_article(article_id: str) -> Redriven:
        """Re-drive one failed article from the stage that failed (409 if it is not failed)."""
        return gateway.redrive(article_id)

    return router
