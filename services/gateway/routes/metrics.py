"""GET /metrics on the API port: the Prometheus metrics, for a caller with an API key.

Prometheus, inside the compose network, scrapes the key-less listener on METRICS_PORT
instead (services/gateway/metrics.py). Plain text in Prometheus's format, not JSON: left
out of the OpenAPI schema.
"""

from fastapi import APIRouter, Depends, Request, Response

from services.gateway.metrics import exposition
from services.gateway.routes.deps import MetricsDep
from services.gateway.security import require_key

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(require_key)])
def metrics(request: Request, gateway_metrics: MetricsDep) -> Response:
    """The gateway's and the pipeline's metrics (an API key is needed, PUBLIC_READ or not)."""
    body, content_type = exposition(gateway_metrics.registry, request.headers.get("accept"))
    return Response(body, media_type=content_type)
