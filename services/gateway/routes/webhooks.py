"""/webhooks: register, list, read and delete webhooks, and follow their deliveries.

Every route needs an API key, reads too, whatever PUBLIC_READ says: a webhook's URL is
configuration, not news. Registering and deleting count as writes (rate limit).
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from services.gateway.routes.deps import AUTH_RESPONSES, WebhooksDep, error
from services.gateway.schemas import (
    DeliveryPage,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
)
from services.gateway.security import Caller, charge_write, require_key, require_write

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: error("No webhook with this id")}

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=AUTH_RESPONSES)


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    responses={
        422: error(
            "Invalid body, or a URL refused (scheme, credentials, or an address that "
            "is private, loopback or link-local)"
        ),
        429: error("Write rate limit of this API key exceeded (see Retry-After)"),
        503: error("PostgreSQL unavailable: nothing was registered, retry"),
    },
)
async def register_webhook(
    request: Request,
    body: WebhookCreate,
    caller: Annotated[Caller, Depends(require_key)],
    webhooks: WebhooksDep,
) -> WebhookCreated:
    """Register a receiver for `stored` and/or `failed` events. Each delivery is a JSON
    POST signed in `Newsflow-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
    retried with exponential backoff up to WEBHOOK_MAX_ATTEMPTS."""
    # Key, then validation (the body, then the URL's addresses), then the rate limit, as
    # for articles: nothing touches Redis or PostgreSQL before both.
    await run_in_threadpool(webhooks.check, body.url)
    await charge_write(request, caller)
    return await run_in_threadpool(webhooks.register, body)


@router.get("", response_model=WebhookList, dependencies=[Depends(require_key)])
def list_webhooks(webhooks: WebhooksDep) -> WebhookList:
    """Every registered webhook, oldest first (secrets are never shown)."""
    return WebhookList(items=webhooks.all())


@router.get(
    "/{webhook_id}",
    response_model=Webhook,
    dependencies=[Depends(require_key)],
    responses=NOT_FOUND,
)
def get_webhook(webhook_id: str, webhooks: WebhooksDep) -> Webhook:
    return webhooks.get(webhook_id)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    response_class=Response,
    dependencies=[Depends(require_write)],
    responses=NOT_FOUND,
)
def delete_webhook(webhook_id: str, webhooks: WebhooksDep) -> Response:
    """Delete the webhook and its deliveries; attempts still queued are dropped."""
    webhooks.delete(webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    dependencies=[Depends(require_key)],
    responses=NOT_FOUND,
)
def list_deliveries(
    webhook_id: str,
    webhooks: WebhooksDep,
    status: Literal["pending", "retrying", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryPage:
    """The webhook's deliveries, newest first, with the counts of all of them: a delivery
    is `pending` (not attempted yet), `retrying`, `delivered`, or `failed` once
    WEBHOOK_MAX_ATTEMPTS attempts failed (`last_status_code`, `last_error` say why)."""
    return webhooks.deliveries(webhook_id, status, limit)
