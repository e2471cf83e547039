"""What every route may depend on: the app's settings, its Gateway service and its
metrics, the event streams and webhook registry, and the error answers documented in
OpenAPI."""

from typing import Annotated, Any

from fastapi import Depends, Request

from services.gateway.errors import ApiErrors
from services.gateway.events import EventSource, StreamSlots
from services.gateway.metrics import GatewayMetrics
from services.gateway.service import Gateway
from services.gateway.webhooks import WebhookRegistry
from shared.settings import Settings


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def app_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def app_events(request: Request) -> EventSource:
    source: EventSource = request.app.state.events
    return source


def app_slots(request: Request) -> StreamSlots:
    slots: StreamSlots = request.app.state.stream_slots
    return slots


def app_webhooks(request: Request) -> WebhookRegistry:
    registry: WebhookRegistry = request.app.state.webhooks
    return registry


def app_metrics(request: Request) -> GatewayMetrics:
    metrics: GatewayMetrics = request.app.state.metrics
    return metrics


SettingsDep = Annotated[Settings, Depends(app_settings)]
GatewayDep = Annotated[Gateway, Depends(app_gateway)]
EventsDep = Annotated[EventSource, Depends(app_events)]
SlotsDep = Annotated[StreamSlots, Depends(app_slots)]
WebhooksDep = Annotated[WebhookRegistry, Depends(app_webhooks)]
MetricsDep = Annotated[GatewayMetrics, Depends(app_metrics)]


def error(description: str) -> dict[str, Any]:
    return {"description": description, "model": ApiErrors}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error("No API key (send X-API-Key or Authorization: Bearer)"),
    403: error("Wrong API key"),
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    413: error("Body too large"),
    415: error("Unsupported content type (binary data)"),
    422: error("Invalid article: the field and the problem are named"),
    429: error("Write rate limit of this API key exceeded (see Retry-After)"),
    503: error("Redis or PostgreSQL unavailable: nothing was accepted, retry"),
}
