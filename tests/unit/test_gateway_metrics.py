"""GET /metrics: the pipeline's families read back from Redis (a fake here), parsed as
Prometheus parses them; the HTTP metrics of the gateway; who may read them, where."""

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from services.gateway.app import create_app
from services.gateway.metrics import (
    ARTICLES_ACCEPTED,
    ARTICLES_FAILED,
    ARTICLES_STORED,
    HTTP_LATENCY,
    HTTP_REQUESTS,
    IN_FLIGHT,
    IN_FLIGHT_OLDEST,
    QUEUE_DEPTH,
    REDIS_UP,
    STAGE_DURATION,
    UNMATCHED,
    PipelineCollector,
    gateway_metrics,
    method_label,
    serve_metrics,
)
from shared import metrics
from shared.status import IN_FLIGHT_KEY
from tests.conftest import free_port
from tests.unit.fake_redis import FakeRedis
from tests.unit.offline import KEY, offline_settings

NOW = 1_000_000.0


def parse(text: str) -> dict[str, list[Sample]]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    [found] = [s.value for s in samples if s.name == name and s.labels == labels]
    return found


@pytest.fixture()
def busy_redis() -> FakeRedis:
    """A pipeline in the middle of its work."""
    client = FakeRedis()
    metrics.count(client, {metrics.ACCEPTED: 5})
    for seconds in (0.002, 0.003, 0.2):
        metrics.record_attempt(client, "ingest", seconds, metrics.OUTCOME_OK)
    metrics.record_attempt(client, "entities", 1.5, metrics.OUTCOME_RETRY)
    metrics.record_attempt(
        client, "entities", 2.0, metrics.OUTCOME_FAILED, {metrics.failed_field("entities"): 1}
    )
    for _ in range(2):
        metrics.record_attempt(client, "storage", 0.04, metrics.OUTCOME_OK, {metrics.STORED: 1})
    client.rpush("language", "m1", "m2", "m3")
    client.rpush("entities.de", "m4")  # a routed language's own queue, not configured here
    client.zadd(IN_FLIGHT_KEY, {"a1": NOW - 60, "a2": NOW - 5})
    client.round_trips = 0
    return client


def scrape(collector: PipelineCollector) -> dict[str, list[Sample]]:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(collector)
    return parse(generate_latest(registry).decode())


def test_every_pipeline_family_reads_back(busy_redis: FakeRedis) -> None:
    families = scrape(PipelineCollector(busy_redis, clock=lambda: NOW))

    assert value(families[ARTICLES_ACCEPTED], "newsflow_articles_accepted_total") == 5
    assert value(families[ARTICLES_STORED], "newsflow_articles_stored_total") == 2
    failed = families[ARTICLES_FAILED]
    assert value(failed, "newsflow_articles_failed_total", stage="entities") == 1
    for stage in ("ingest", "language", "storage"):  # present from the start, at zero
        assert value(failed, "newsflow_articles_failed_total", stage=stage) == 0

    durations = families[STAGE_DURATION]
    count = f"{STAGE_DURATION}_count"
    assert value(durations, count, stage="ingest", outcome="ok") == 3
    assert value(durations, f"{STAGE_DURATION}_sum", stage="ingest", outcome="ok") == (
        pytest.approx(0.205)
    )
    assert (
        value(durations, f"{STAGE_DURATION}_bucket", stage="ingest", outcome="ok", le="0.005") == 2
    )
    assert value(durations, count, stage="entities", outcome="retry") == 1
    assert value(durations, count, stage="entities", outcome="failed") == 1
    assert value(durations, count, stage="storage", outcome="ok") == 2
    assert value(durations, count, stage="language", outcome="ok") == 0  # zero, not absent
    buckets = [
        s.value
        for s in durations
        if s.name.endswith("_bucket")
        and s.labels["stage"] == "ingest"
        and s.labels["outcome"] == "ok"
    ]
    assert buckets == sorted(buckets) and buckets[-1] == 3

    depth = {(s.labels["stage"], s.labels["queue"]): s.value for s in families[QUEUE_DEPTH]}
    assert depth == {
        ("ingest", "ingest"): 0,
        ("language", "language"): 3,
        ("entities", "entities"): 0,
        ("entities", "entities.de"): 1,
        ("storage", "storage"): 0,
    }
    assert value(families[IN_FLIGHT], IN_FLIGHT) == 2
    assert value(families[IN_FLIGHT_OLDEST], IN_FLIGHT_OLDEST) == 60
    assert value(families[REDIS_UP], REDIS_UP) == 1


def test_a_scrape_is_one_round_trip_and_discovery_is_rare(busy_redis: FakeRedis) -> None:
    clock = [NOW]
    collector = PipelineCollector(busy_redis, clock=lambda: clock[0], discover_every_s=300)
    scrape(collector)
    assert busy_redis.scans == 1
    busy_redis.round_trips = 0
    scrape(collector)
    assert busy_redis.round_trips == 1  # the routed queues found before are reused
    assert busy_redis.scans == 1
    clock[0] += 301
    scrape(collector)
    assert busy_redis.scans == 2


def test_configured_routed_queues_are_reported_without_discovery() -> None:
    client = FakeRedis()
    families = scrape(PipelineCollector(client, routed=frozenset({"de"}), clock=lambda: NOW))
    queues = {s.labels["queue"] for s in families[QUEUE_DEPTH]}
    assert queues == {"ingest", "language", "entities", "entities.de", "storage"}
    assert value(families[IN_FLIGHT_OLDEST], IN_FLIGHT_OLDEST) == 0  # nothing in flight


def test_redis_down_still_answers_and_says_so() -> None:
    client = FakeRedis()
    client.down = True
    families = scrape(PipelineCollector(client, clock=lambda: NOW))
    assert set(families) == {REDIS_UP}
    assert value(families[REDIS_UP], REDIS_UP) == 0


def test_the_registry_holds_http_process_and_pipeline_metrics() -> None:
    app_metrics = gateway_metrics(FakeRedis())
    app_metrics.requests.labels("GET", "/health", "200").inc()
    app_metrics.latency.labels("GET", "/health").observe(0.01)
    families = parse(generate_latest(app_metrics.registry).decode())
    assert {HTTP_REQUESTS, HTTP_LATENCY, ARTICLES_ACCEPTED, IN_FLIGHT, QUEUE_DEPTH} <= set(families)
    assert "process_cpu_seconds" in families or "python_info" in families


def test_method_labels_are_bounded() -> None:
    assert method_label("GET") == "GET"
    assert method_label("BREW") == "other"


# --- over HTTP, with Redis and PostgreSQL unreachable --------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(offline_settings()), raise_server_exceptions=False) as test_client:
        yield test_client


def http_samples(client: TestClient) -> dict[tuple[str, str, str], float]:
    answer = client.get("/metrics", headers=KEY)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples = parse(answer.text)[HTTP_REQUESTS]
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in samples
        if s.name.endswith("_total")
    }


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/articles/abc", headers=KEY).status_code == 503  # backends down
    assert client.get("/no/such/path").status_code == 404
    counted = http_samples(client)
    assert counted[("GET", "/health", "200")] >= 1
    assert counted[("GET", "/articles/{article_id}", "503")] >= 1
    assert counted[("GET", UNMATCHED, "404")] >= 1
    assert not any("abc" in route or "no/such" in route for _, route, _ in counted)


def test_metrics_on_the_api_port_need_a_key(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": "wrong"}).status_code == 403
    answer = client.get("/metrics", headers=KEY)
    families = parse(answer.text)
    assert value(families[REDIS_UP], REDIS_UP) == 0  # Redis is unreachable here


def test_public_read_does_not_open_the_metrics() -> None:
    with TestClient(create_app(offline_settings(public_read=True))) as open_client:
        assert open_client.get("/metrics").status_code == 401


def test_openmetrics_is_served_when_asked(client: TestClient) -> None:
    answer = client.get(
        "/metrics", headers={**KEY, "Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")


def test_metrics_stay_out_of_the_openapi_schema(client: TestClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        body: bytes = answer.read()
    return body.decode()


def test_the_keyless_listener_runs_with_the_app_and_stops_with_it() -> None:
    port = free_port()
    settings = offline_settings(metrics_port=port, metrics_host="127.0.0.1")
    url = f"http://127.0.0.1:{port}/metrics"
    with TestClient(create_app(settings)) as app_client:
        app_client.get("/health")
        families = parse(fetch(url))  # no key
        requests = families[HTTP_REQUESTS]
        assert (
            value(requests, f"{HTTP_REQUESTS}_total", method="GET", route="/health", status="200")
            == 1
        )
        assert REDIS_UP in families
    time.sleep(0.1)
    with pytest.raises(urllib.error.URLError):
        fetch(url)


def test_no_port_no_listener_and_a_busy_port_does_not_stop_the_api(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert serve_metrics(gateway_metrics(FakeRedis()).registry, "127.0.0.1", 0) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = offline_settings(metrics_port=port, metrics_host="127.0.0.1")
        with TestClient(create_app(settings)) as app_client:
            assert app_client.get("/health").status_code == 200
    # The app's logging writes to stdout.
    assert "could not start the metrics listener" in capsys.readouterr().out
