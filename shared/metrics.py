"""Pipeline metrics, kept in Redis: every worker process of every container adds to the
same numbers, and the gateway exposes them to Prometheus (services/gateway/metrics.py).

Why Redis and not prometheus_client's multiprocess mode: that mode sums the processes
that share one folder on one host, while the stages run in several containers (scaled
with `make scale`), which share nothing but Redis. Here each stage attempt adds its
processing time to histogram buckets in one Redis hash, the gateway reads that hash when
Prometheus scrapes it, and any number of workers anywhere add up.

What is recorded, and where:

- `newsflow:metrics:stage_seconds`: each stage attempt's processing time, one field per
  (stage, outcome, bucket) counting the attempts that fell in that bucket (not
  cumulative: one field is touched per attempt), and one `sum` field per (stage,
  outcome). Outcomes: ok, retry (it will be tried again), failed (it ends the article
  failed). Recorded by the base task (shared/pipeline.py) once per attempt.
- `newsflow:metrics:articles`: counters of articles accepted (by the gateway, once an
  article is queued), stored (the store task's success), failed (per stage: the
  attempt that gives up) and NER-batched (the first job of each entities batch adds its
  batch's size), incremented in the same round trip as the attempt's time.

The articles in flight are not counted here: the status store keeps their index
(shared/status.py), where every transition is recorded anyway.

Recording never breaks the pipeline: any error while recording is logged and swallowed,
and recording costs one pipelined round trip (no transaction) per stage attempt.
"""

import logging
import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

log = logging.getLogger(__name__)

METRICS_PREFIX = "newsflow:metrics:"
STAGE_SECONDS_KEY = f"{METRICS_PREFIX}stage_seconds"
ARTICLES_KEY = f"{METRICS_PREFIX}articles"

# Article counters (fields of ARTICLES_KEY); failures are counted per stage, `failed|<stage>`.
ACCEPTED = "accepted"
STORED = "stored"
FAILED = "failed"
# Articles whose NER ran in a batch with others (the entities worker's batches).
ENTITIES_BATCHED = "entities_batched"

# How a stage attempt ended.
OUTCOME_OK = "ok"
OUTCOME_RETRY = "retry"
OUTCOME_FAILED = "failed"

# Upper bounds (seconds) of the stage-time buckets: ingest and language take
# milliseconds, entities up to its time limit (300 s in compose).
STAGE_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
INF = math.inf
INF_LABEL = "+Inf"
SEP = "|"  # between the parts of a field name; stage and outcome names never hold it
SUM = "sum"


def bucket_bound(seconds: float, bounds: tuple[float, ...] = STAGE_BUCKETS) -> float:
    """The smallest bound at or above `seconds` (a histogram's `le`), +Inf above them all."""
    index = bisect_left(bounds, seconds)
    return bounds[index] if index < len(bounds) else INF


def bound_label(bound: float) -> str:
    """How a bound is written in a field name and in Prometheus's `le` label."""
    return INF_LABEL if math.isinf(bound) else repr(float(bound))


def parse_bound(label: str) -> float:
    return INF if label == INF_LABEL else float(label)


def bucket_field(stage: str, outcome: str, bound: float) -> str:
    return SEP.join((stage, outcome, bound_label(bound)))


def sum_field(stage: str, outcome: str) -> str:
    return SEP.join((stage, outcome, SUM))


def failed_field(stage: str) -> str:
    return f"{FAILED}{SEP}{stage}"


@dataclass
class StageTimes:
    """One (stage, outcome)'s histogram as read back: attempts per bucket, not cumulative."""

    buckets: dict[float, int] = field(default_factory=dict)
    sum: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.buckets.values())

    def cumulative(self, bounds: tuple[float, ...] = STAGE_BUCKETS) -> list[tuple[str, int]]:
        """Prometheus's buckets: (le, attempts at or below it) for every bound, +Inf last.
        Bounds found in Redis but no longer configured are kept, so nothing is lost."""
        running = 0
        out = []
        for bound in sorted({*bounds, *self.buckets, INF}):
            running += self.buckets.get(bound, 0)
            out.append((bound_label(bound), running))
        return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_stage_times(raw: Mapping[Any, Any]) -> dict[tuple[str, str], StageTimes]:
    """STAGE_SECONDS_KEY's fields as {(stage, outcome): StageTimes}; unreadable fields
    are skipped (a metric must never fail the scrape)."""
    times: dict[tuple[str, str], StageTimes] = {}
    for key, value in raw.items():
        parts = _text(key).split(SEP)
        if len(parts) != 3:
            continue
        stage, outcome, last = parts
        try:
            entry = times.setdefault((stage, outcome), StageTimes())
            if last == SUM:
                entry.sum = float(_text(value))
            else:
                entry.buckets[parse_bound(last)] = int(_text(value))
        except ValueError:
            log.warning("unreadable stage-time field", extra={"field": _text(key)})
    return times


def parse_counters(raw: Mapping[Any, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """ARTICLES_KEY's fields as ({counter: value}, {stage: failed})."""
    counters: dict[str, int] = {}
    failed: dict[str, int] = {}
    for key, value in raw.items():
        name = _text(key)
        try:
            number = int(_text(value))
        except ValueError:
            continue
        if name.startswith(f"{FAILED}{SEP}"):
            failed[name[len(FAILED) + len(SEP) :]] = number
        else:
            counters[name] = number
    return counters, failed


def record_attempt(
    client: Any,
    stage: str,
    seconds: float,
    outcome: str,
    counters: Mapping[str, int] | None = None,
    count_down: str | None = None,
) -> None:
    """Add one stage attempt's time and its article counters, and DECR `count_down` when
    given (the base task's delivery count): one round trip, never raises."""
    try:
        pipe = client.pipeline(transaction=False)
        if count_down is not None:
            pipe.decr(count_down)
        pipe.hincrby(STAGE_SECONDS_KEY, bucket_field(stage, outcome, bucket_bound(seconds)), 1)
        pipe.hincrbyfloat(STAGE_SECONDS_KEY, sum_field(stage, outcome), seconds)
        for name, amount in (counters or {}).items():
            pipe.hincrby(ARTICLES_KEY, name, amount)
        pipe.execute()
    except Exception as exc:
        _not_recorded("could not record the stage's metrics", exc, stage=stage, outcome=outcome)


def count(client: Any, counters: Mapping[str, int]) -> None:
    """Add to the article counters (the gateway: accepted): one round trip, never raises."""
    if not any(counters.values()):
        return
    try:
        pipe = client.pipeline(transaction=False)
        for name, amount in counters.items():
            if amount:
                pipe.hincrby(ARTICLES_KEY, name, amount)
        pipe.execute()
    except Exception as exc:
        _not_recorded("could not record article counters", exc, counters=dict(counters))


def _not_recorded(what: str, exc: Exception, **fields: Any) -> None:
    # Redis unreachable (a restart, an outage) is expected now and then: one line, no
    # traceback; anything else is a bug worth its traceback. Neither reaches the caller.
    expected = isinstance(exc, redis.exceptions.RedisError)
    reason = f"{type(exc).__name__}: {exc}"[:300]
    log.warning(what, extra={**fields, "reason": reason}, exc_info=None if expected else exc)
