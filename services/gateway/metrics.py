"""Prometheus metrics of the gateway and of the whole pipeline (GET /metrics).

One registry, two sources:

- This process: HTTP requests by method, route and status, and their latency, counted by
  an ASGI middleware in prometheus_client metrics. The gateway runs one uvicorn process per
  container, so these are whole; gateway replicas would each be scraped.
- Redis, read when Prometheus scrapes (PipelineCollector): articles accepted, stored and
  failed, each stage's processing time (written by every worker of every container,
  shared/metrics.py), the depth of each stage's queues, and the articles in flight (the
  status store's index, shared/status.py). One pipelined round trip per scrape; with Redis
  down the scrape still answers, with newsflow_metrics_redis_up 0.

Where they are served (README, "Metrics and monitoring"): on the API port, GET /metrics
with an API key (routes/metrics.py); on METRICS_PORT (9100 in compose) without one, a
listener that docker-compose.yml does not publish, so only containers on the compose
network (Prometheus) reach it.
"""

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.health import routed_languages_in_redis
from shared.metrics import (
    ACCEPTED,
    ARTICLES_KEY,
    ENTITIES_BATCHED,
    OUTCOME_OK,
    STAGE_SECONDS_KEY,
    STORED,
    StageTimes,
    parse_counters,
    parse_stage_times,
)
from shared.names import STAGE_QUEUES, stage_queue_lists
from shared.status import IN_FLIGHT_KEY

log = logging.getLogger(__name__)

# Metric names (counters without their _total suffix, as prometheus_client wants them).
HTTP_REQUESTS = "newsflow_http_requests"
HTTP_LATENCY = "newsflow_http_request_duration_seconds"
ARTICLES_ACCEPTED = "newsflow_articles_accepted"
ARTICLES_STORED = "newsflow_articles_stored"
ARTICLES_FAILED = "newsflow_articles_failed"
ENTITIES_BATCHED_ARTICLES = "newsflow_entities_batched_articles"
STAGE_DURATION = "newsflow_stage_duration_seconds"
QUEUE_DEPTH = "newsflow_queue_depth"
IN_FLIGHT = "newsflow_articles_in_flight"
IN_FLIGHT_OLDEST = "newsflow_articles_in_flight_oldest_age_seconds"
REDIS_UP = "newsflow_metrics_redis_up"

# Label of a request that matched no route (a 404): paths never become label values.
UNMATCHED = "unmatched"
OTHER_METHOD = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Routed entities queues (`entities.<lang>`) not configured here are found by a SCAN of
# Redis's keys, at most this often: a scrape must stay cheap with millions of keys.
QUEUE_DISCOVERY_SECONDS = 300.0
# A scrape must not hang on a wedged Redis.
REDIS_TIMEOUT_SECONDS = 5.0


# --- the pipeline, from Redis -----------------------------------------------------------


@dataclass(frozen=True)
class PipelineSnapshot:
    """What one scrape read from Redis (raw), and when."""

    counters: Mapping[Any, Any]
    stage_times: Mapping[Any, Any]
    queue_depths: list[tuple[str, str, int]]  # (stage, queue, messages waiting)
    in_flight: int
    oldest_queued_at: float | None
    now: float


def read_snapshot(client: Any, queues: Mapping[str, list[str]], now: float) -> PipelineSnapshot:
    """Everything the pipeline families need, in one pipelined round trip."""
    flat = [(stage, queue) for stage, names in queues.items() for queue in names]
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(ARTICLES_KEY)
    pipe.hgetall(STAGE_SECONDS_KEY)
    for _, queue in flat:
        pipe.llen(queue)
    pipe.zcard(IN_FLIGHT_KEY)
    pipe.zrange(IN_FLIGHT_KEY, 0, 0, withscores=True)
    counters, stage_times, *depths, in_flight, oldest = pipe.execute()
    return PipelineSnapshot(
        counters=counters or {},
        stage_times=stage_times or {},
        queue_depths=[
            (stage, queue, int(depth)) for (stage, queue), depth in zip(flat, depths, strict=True)
        ],
        in_flight=int(in_flight),
        oldest_queued_at=float(oldest[0][1]) if oldest else None,
        now=now,
    )


def pipeline_families(
    snapshot: PipelineSnapshot, stages: Iterable[str] = STAGE_QUEUES
) -> list[Metric]:
    """The pipeline's metric families from a snapshot (pure). Every stage of `stages` has a
    failed counter and an `ok` histogram from the start, zero until it is recorded."""
    stages = list(stages)
    counters, failed = parse_counters(snapshot.counters)
    accepted = CounterMetricFamily(
        ARTICLES_ACCEPTED,
        "Articles accepted and queued by the gateway",
        value=counters.get(ACCEPTED, 0),
    )
    stored = CounterMetricFamily(
        ARTICLES_STORED, "Articles stored in PostgreSQL", value=counters.get(STORED, 0)
    )
    batched = CounterMetricFamily(
        ENTITIES_BATCHED_ARTICLES,
        "Articles whose NER ran in a batch with others (one nlp.pipe call)",
        value=counters.get(ENTITIES_BATCHED, 0),
    )
    failed_family = CounterMetricFamily(
        ARTICLES_FAILED, "Articles that ended failed, by the stage that gave up", labels=["stage"]
    )
    for stage in [*stages, *sorted(set(failed) - set(stages))]:
        failed_family.add_metric([stage], failed.get(stage, 0))

    durations = HistogramMetricFamily(
        STAGE_DURATION,
        "Processing time of each stage attempt, by outcome (ok, retry, failed)",
        labels=["stage", "outcome"],
    )
    times = parse_stage_times(snapshot.stage_times)
    for stage in stages:
        times.setdefault((stage, OUTCOME_OK), StageTimes())
    for (stage, outcome), histogram in sorted(times.items()):
        durations.add_metric([stage, outcome], histogram.cumulative(), histogram.sum)

    depth = GaugeMetricFamily(
        QUEUE_DEPTH,
        "Messages waiting in each stage's queues (Redis LLEN)",
        labels=["stage", "queue"],
    )
    for stage, queue, waiting in snapshot.queue_depths:
        depth.add_metric([stage, queue], waiting)

    oldest_age = (
        max(0.0, snapshot.now - snapshot.oldest_queued_at)
        if snapshot.oldest_queued_at is not None
        else 0.0
    )
    return [
        accepted,
        stored,
        failed_family,
        batched,
        durations,
        depth,
        GaugeMetricFamily(
            IN_FLIGHT, "Articles accepted and not yet stored or failed", value=snapshot.in_flight
        ),
        GaugeMetricFamily(
            IN_FLIGHT_OLDEST,
            "Seconds since the longest-waiting article in flight was queued (0: none)",
            value=oldest_age,
        ),
        redis_up(True),
    ]


def redis_up(up: bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        REDIS_UP, "1 when this scrape could read the pipeline's metrics from Redis", value=int(up)
    )


class PipelineCollector(Collector):
    """The pipeline's metrics, read from Redis at scrape time."""

    def __init__(
        self,
        client: Any,
        routed: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.time,
        discover_every_s: float = QUEUE_DISCOVERY_SECONDS,
    ) -> None:
        self.client = client
        self.routed = routed
        self.clock = clock
        self.discover_every_s = discover_every_s
        self._discovered: frozenset[str] = frozenset()
        self._discovered_at = -math.inf

    def queues(self, now: float) -> dict[str, list[str]]:
        """Each stage's queues: the configured routed languages' ones (ENTITIES_ROUTED_LANGUAGES),
        and those found in Redis by the last discovery."""
        if now - self._discovered_at >= self.discover_every_s:
            self._discovered_at = now
            try:
                self._discovered = frozenset(routed_languages_in_redis(self.client))
            except Exception:
                log.warning("could not look for routed entities queues", exc_info=True)
        return stage_queue_lists(self.routed | self._discovered)

    def collect(self) -> Iterable[Metric]:
        now = self.clock()
        try:
            snapshot = read_snapshot(self.client, self.queues(now), now)
        except Exception:
            log.warning("could not read the pipeline's metrics from Redis", exc_info=True)
            return [redis_up(False)]
        return pipeline_families(snapshot)


# --- this process: HTTP ------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram


def gateway_metrics(client: Any, routed: frozenset[str] = frozenset()) -> GatewayMetrics:
    """A registry of its own (not prometheus_client's global one): this process's metrics,
    its HTTP metrics, and the pipeline's from Redis through `client`."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    requests = Counter(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        HTTP_LATENCY,
        "Time to answer an HTTP request, by method and route",
        ["method", "route"],
        registry=registry,
    )
    registry.register(PipelineCollector(client, routed))
    return GatewayMetrics(registry=registry, requests=requests, latency=latency)


def route_label(scope: Scope) -> str:
    """The matched route's template (/articles/{article_id}), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER_METHOD


class HttpMetricsMiddleware:
    """Counts every HTTP request by method, route and status, and times it (pure ASGI:
    the body streams through untouched)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an error raised before any answer

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = method_label(str(scope.get("method", "")))
            route = route_label(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


# --- serving -----------------------------------------------------------------------------


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The registry in the format the scraper asks for (Accept), and its content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> WSGIServer | None:
    """The key-less metrics listener on host:port, in a daemon thread (None: port 0, or it
    could not listen; the API goes on without it)."""
    if not port:
        return None
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError:
        log.exception("could not start the metrics listener", extra={"host": host, "port": port})
        return None
    log.info("metrics listener up", extra={"host": host, "port": port})
    return server


def stop_metrics(server: WSGIServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
