"""Pipeline metrics kept in Redis (shared/metrics.py): bucket maths, one round trip per
stage attempt, errors swallowed; the outcome each attempt is recorded with (the base task);
and the status store's index of the articles in flight."""

import logging
import math
import time
from typing import Any

import pytest
from celery import Celery

from shared import metrics
from shared.envelope import Status
from shared.metrics import (
    ARTICLES_KEY,
    INF,
    STAGE_BUCKETS,
    STAGE_SECONDS_KEY,
    StageTimes,
    bound_label,
    bucket_bound,
    parse_bound,
    parse_counters,
    parse_stage_times,
    record_attempt,
)
from shared.pipeline import PipelineTask
from shared.status import IN_FLIGHT_KEY, StatusStore
from tests.unit.fake_redis import FakeRedis

ARTICLE = "a" * 32


@pytest.mark.parametrize(
    ("seconds", "bound"),
    [
        (0.0, 0.005),
        (-1.0, 0.005),  # a clock step back still lands somewhere
        (0.005, 0.005),  # a bound is `le`: inclusive
        (0.0051, 0.01),
        (0.2, 0.25),
        (1.0, 1.0),
        (300.0, 300.0),
        (300.01, INF),
        (1e9, INF),
    ],
)
def test_a_time_falls_in_the_smallest_bucket_at_or_above_it(seconds: float, bound: float) -> None:
    assert bucket_bound(seconds) == bound


def test_bounds_are_sorted_and_labels_read_back() -> None:
    assert list(STAGE_BUCKETS) == sorted(set(STAGE_BUCKETS))
    for bound in (*STAGE_BUCKETS, INF):
        assert parse_bound(bound_label(bound)) == bound
    assert bound_label(INF) == "+Inf"
    assert bound_label(1) == "1.0"


def test_cumulative_buckets_end_with_inf_and_keep_unknown_bounds() -> None:
    times = StageTimes(buckets={0.01: 2, 0.3: 1, 1.0: 3, INF: 1}, sum=9.5)
    buckets = times.cumulative((0.01, 0.1, 1.0))
    assert buckets == [("0.01", 2), ("0.1", 2), ("0.3", 3), ("1.0", 6), ("+Inf", 7)]
    assert times.count == 7
    counts = [count for _, count in buckets]
    assert counts == sorted(counts)  # cumulative: never decreasing


def test_each_attempt_is_one_round_trip_and_reads_back() -> None:
    client = FakeRedis()
    record_attempt(client, "ingest", 0.003, metrics.OUTCOME_OK)
    record_attempt(client, "ingest", 0.004, metrics.OUTCOME_OK)
    record_attempt(client, "ingest", 0.2, metrics.OUTCOME_OK)
    record_attempt(client, "storage", 0.05, metrics.OUTCOME_OK, {metrics.STORED: 1})
    record_attempt(
        client, "entities", 400.0, metrics.OUTCOME_FAILED, {metrics.failed_field("entities"): 1}
    )
    assert client.round_trips == 5

    times = parse_stage_times(client.hgetall(STAGE_SECONDS_KEY))
    ingest = times[("ingest", "ok")]
    assert ingest.buckets == {0.005: 2, 0.25: 1}
    assert ingest.count == 3
    assert math.isclose(ingest.sum, 0.207)
    assert times[("entities", "failed")].buckets == {INF: 1}
    assert set(times) == {("ingest", "ok"), ("storage", "ok"), ("entities", "failed")}

    counters, failed = parse_counters(client.hgetall(ARTICLES_KEY))
    assert counters == {"stored": 1}
    assert failed == {"entities": 1}


def test_unreadable_fields_are_skipped() -> None:
    raw = {"ingest|ok|0.1": "2", "garbage": "1", "ingest|ok|nan-ish": "x", "a|b|sum": "oops"}
    times = parse_stage_times(raw)
    assert times[("ingest", "ok")].buckets == {0.1: 2}
    assert parse_counters({"accepted": "3", "stored": "x", b"failed|ingest": b"2"}) == (
        {"accepted": 3},
        {"ingest": 2},
    )


def test_a_redis_error_while_recording_is_logged_and_swallowed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = FakeRedis()
    client.down = True
    with caplog.at_level(logging.WARNING):
        record_attempt(client, "ingest", 0.1, metrics.OUTCOME_OK)
        metrics.count(client, {metrics.ACCEPTED: 2})
    assert [r.getMessage() for r in caplog.records] == [
        "could not record the stage's metrics",
        "could not record article counters",
    ]


def test_nothing_to_count_costs_no_round_trip() -> None:
    client = FakeRedis()
    metrics.count(client, {metrics.ACCEPTED: 0})
    assert client.round_trips == 0
    metrics.count(client, {metrics.ACCEPTED: 3})
    metrics.count(client, {metrics.ACCEPTED: 2})
    assert client.round_trips == 2
    assert parse_counters(client.hgetall(ARTICLES_KEY))[0] == {"accepted": 5}


# --- what the base task records ----------------------------------------------------------


def stage_task(body: Any) -> tuple[PipelineTask, FakeRedis]:
    app = Celery("metrics-test", broker="memory://")

    class Stage(PipelineTask):
        stage = "test"

    @app.task(bind=True, base=Stage, name="test.metrics")
    def run(self: Stage, message: dict[str, Any]) -> None:
        body()

    client = FakeRedis()
    run._status = StatusStore(client, 60)
    return run, client


def run_as_worker(task: PipelineTask, retries: int) -> None:
    """As the worker runs it (not called directly), so a retry really is one."""
    task.push_request(
        retries=retries,
        is_eager=False,
        called_directly=False,
        id="t-1",
        args=[{"id": ARTICLE}],
        kwargs={},
        delivery_info={},
    )
    try:
        task({"id": ARTICLE})
    finally:
        task.pop_request()


def recorded(client: FakeRedis) -> tuple[set[tuple[str, str]], dict[str, int]]:
    times = parse_stage_times(client.hgetall(STAGE_SECONDS_KEY))
    return set(times), parse_counters(client.hgetall(ARTICLES_KEY))[1]


def test_a_successful_attempt_is_recorded_ok() -> None:
    task, client = stage_task(lambda: None)
    run_as_worker(task, retries=0)
    assert recorded(client) == ({("test", "ok")}, {})


def test_an_attempt_that_will_be_retried_is_recorded_retry() -> None:
    from celery.exceptions import Retry

    def boom() -> None:
        raise ValueError("bad data")

    task, client = stage_task(boom)
    with pytest.raises(Retry):
        run_as_worker(task, retries=0)
    assert recorded(client) == ({("test", "retry")}, {})


def test_the_attempt_that_gives_up_is_recorded_failed_and_counts_the_article() -> None:
    def boom() -> None:
        raise ValueError("bad data")

    task, client = stage_task(boom)
    with pytest.raises(ValueError):
        run_as_worker(task, retries=2)  # the third of MAX_ATTEMPTS=3
    assert recorded(client) == ({("test", "failed")}, {"test": 1})


def test_metrics_down_never_fails_the_task(caplog: pytest.LogCaptureFixture) -> None:
    task, client = stage_task(lambda: None)
    real = client.pipeline

    def broken(transaction: bool = True) -> Any:
        # Only the round trip that records the metrics fails (the attempt's start shares
        # nothing with it).
        pipe = real(transaction)
        execute = pipe.execute

        def fail_on_metrics() -> list[Any]:
            if any(STAGE_SECONDS_KEY in args for _, args, _ in pipe.queued):
                raise ConnectionError("metrics down")
            return execute()

        pipe.execute = fail_on_metrics  # type: ignore[method-assign]
        return pipe

    client.pipeline = broken  # type: ignore[method-assign]
    run_as_worker(task, retries=0)  # no exception
    assert "could not record the stage's metrics" in caplog.text


def test_the_store_task_counts_stored_and_the_failure_recorder_counts_nothing() -> None:
    from services.storage.tasks import store, store_failed

    assert store.article_counts(metrics.OUTCOME_OK) == {"stored": 1}
    assert store.article_counts(metrics.OUTCOME_RETRY) == {}
    assert store.article_counts(metrics.OUTCOME_FAILED) == {"failed|storage": 1}
    for outcome in (metrics.OUTCOME_OK, metrics.OUTCOME_FAILED):
        assert store_failed.article_counts(outcome) == {}


# --- the articles in flight (shared/status.py) ---------------------------------------------


def in_flight(client: FakeRedis) -> list[str]:
    return list(client.data.get(IN_FLIGHT_KEY, {}))


def test_an_article_is_in_flight_from_claim_to_stored_or_failed() -> None:
    client = FakeRedis()
    store = StatusStore(client, 3600)
    assert store.claim(ARTICLE, "Titre")
    assert in_flight(client) == [ARTICLE]
    trips = client.round_trips
    store.set_status(ARTICLE, Status.INGESTED)
    assert client.round_trips == trips + 1  # in the status's own round trip
    assert in_flight(client) == [ARTICLE]
    store.set_status(ARTICLE, Status.STORED)
    assert in_flight(client) == []
    store.set_status(ARTICLE, Status.STORED)  # a redelivery: nothing changes
    assert in_flight(client) == []

    store.set_status(ARTICLE, Status.QUEUED)  # re-driven
    assert in_flight(client) == [ARTICLE]
    store.set_failed(ARTICLE, "entities", "boom")
    assert in_flight(client) == []


def test_a_released_claim_leaves_flight_and_a_duplicate_claim_changes_nothing() -> None:
    client = FakeRedis()
    store = StatusStore(client, 3600)
    assert store.claim(ARTICLE)
    assert not store.claim(ARTICLE)
    assert in_flight(client) == [ARTICLE]
    store.release(ARTICLE)
    assert in_flight(client) == []


def test_entries_older_than_the_status_are_trimmed_on_claim() -> None:
    client = FakeRedis()
    store = StatusStore(client, 3600)
    client.zadd(IN_FLIGHT_KEY, {"lost": time.time() - 3700, "recent": time.time() - 10})
    store.claim(ARTICLE)
    assert sorted(in_flight(client)) == [ARTICLE, "recent"]


def test_an_attempt_that_hands_on_its_article_costs_three_redis_round_trips() -> None:
    """Start (outbox entry received, delivery counted up), status with the next stage's
    outbox entry (one transaction), end (delivery counted down, metrics): the broker's own
    send is not on this client."""
    from datetime import UTC, datetime

    from shared import outbox
    from shared.envelope import ArticleEnvelope, ArticleInput
    from shared.pipeline import deliveries_key

    app = Celery("round-trips-test", broker="memory://")
    app.conf.task_publish_retry = False

    class Stage(PipelineTask):
        stage = "test"

    envelope = ArticleEnvelope(
        id=ARTICLE, received_at=datetime.now(UTC), input=ArticleInput(text="Un texte.")
    )

    @app.task(bind=True, base=Stage, name="test.round_trips")
    def run(self: Stage, message: dict[str, Any]) -> None:
        self.advance(envelope, Status.INGESTED, "test.next")

    client = FakeRedis()
    run._status = StatusStore(client, 60)
    client.set(outbox.outbox_key(ARTICLE, "test.round_trips"), "{}")
    client.round_trips = 0
    run_as_worker(run, retries=0)
    assert client.round_trips == 3
    assert client.get(outbox.outbox_key(ARTICLE, "test.round_trips")) is None  # received
    assert client.get(deliveries_key(ARTICLE, "test")) == "0"  # counted up, then down
    entry = client.get(outbox.outbox_key(ARTICLE, "test.next"))
    assert entry is not None and '"task": "test.next"' in entry  # written with the status
    assert client.hgetall(f"newsflow:article:{ARTICLE}")["status"] == Status.INGESTED.value
    assert recorded(client) == ({("test", "ok")}, {})
