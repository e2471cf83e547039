"""The HTTP API: submit articles, follow them through the pipeline, search the results.

The gateway only enqueues by task name and reads PostgreSQL; it never imports NLP code.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.orm import sessionmaker

from services.gateway.errors import (
    BACKEND_ERRORS,
    ApiError,
    api_error_handler,
    backend_unavailable_handler,
)
from services.gateway.events import BLOCK_MS, RedisEventSource, StreamSlots
from services.gateway.health import health_router
from services.gateway.metrics import (
    REDIS_TIMEOUT_SECONDS,
    HttpMetricsMiddleware,
    gateway_metrics,
    serve_metrics,
    stop_metrics,
)
from services.gateway.redrive import redrive_router
from services.gateway.routes import entities, events, metrics, webhooks
from services.gateway.routes.articles import articles_router
from services.gateway.routes.deps import AUTH_RESPONSES
from services.gateway.security import install, require_write
from services.gateway.service import Gateway
from services.gateway.web import routes as web
from services.gateway.webhooks import WebhookRegistry
from shared.celery_app import create_celery_app
from shared.db.session import make_engine
from shared.logging import configure_logging
from shared.settings import Settings, get_settings
from shared.status import StatusStore, redis_client

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    redis = redis_client(settings.redis_url)
    engine = make_engine(settings.database_url, read_only=True)
    gateway = Gateway(
        celery=create_celery_app("gateway"),
        status=StatusStore(redis, settings.status_ttl_seconds, settings.events_retention_minutes),
        sessions=sessionmaker(engine),
        routed_languages=settings.entities_routed(),
    )

    # HTTP metrics of this process, the pipeline's read from Redis (with a timeout: a scrape
    # must not hang), served on the API port with a key and on METRICS_PORT without one.
    app_metrics = gateway_metrics(
        redis_client(settings.redis_url, timeout_s=REDIS_TIMEOUT_SECONDS),
        settings.entities_routed(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        listener = serve_metrics(app_metrics.registry, settings.metrics_host, settings.metrics_port)
        try:
            yield
        finally:
            stop_metrics(listener)

    app = FastAPI(
        title="Newsflow",
        version="0.1.0",
        description="Submit news articles; read back clean text, languages and named entities.",
        lifespan=lifespan,
    )
    # What the routes' dependencies hand out (routes/deps.py).
    app.state.settings = settings
    app.state.gateway = gateway
    app.state.metrics = app_metrics
    # SSE streams read with the asyncio client: a waiting read holds no thread.
    app.state.events = RedisEventSource(
        AsyncRedis.from_url(
            settings.redis_url,
            decode_responses=True,
            socket_connect_timeout=5,
            socket_timeout=BLOCK_MS / 1000 + 10,
        )
    )
    app.state.stream_slots = StreamSlots(settings.events_max_clients)
    # The one table the gateway writes (webhook registrations): its own small engine.
    app.state.webhooks = WebhookRegistry(
        sessionmaker(
            make_engine(settings.database_url, pool_size=2, max_overflow=2),
            expire_on_commit=False,
        ),
        allow_private=settings.webhook_allow_private_urls,
    )
    app.add_exception_handler(ApiError, api_error_handler)
    install(app, settings, redis)
    if settings.cors_origin_list():
        # Browsers on these origins may call the API (with their key); no cookies.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            allow_credentials=False,
        )
    for unavailable in BACKEND_ERRORS:
        app.add_exception_handler(unavailable, backend_unavailable_handler)
    # Added last, so outermost: every request is counted, CORS preflights and errors too.
    app.add_middleware(HttpMetricsMiddleware, metrics=app_metrics)

    app.include_router(articles_router(settings))
    app.include_router(entities.router)
    app.include_router(events.router)
    app.include_router(webhooks.router)
    app.include_router(metrics.router)
    app.include_router(health_router(redis, engine, settings))
    app.include_router(
        redrive_router(gateway), dependencies=[Depends(require_write)], responses=AUTH_RESPONSES
    )
    # The web page (/ and /web/...): HTML over the same Gateway, not in the OpenAPI schema.
    web.install(app, settings)
    return app


app = create_app()
