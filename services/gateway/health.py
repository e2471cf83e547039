"""Health endpoints: the process (/health), its backends (/ready), the pipeline.

`/health/pipeline` names a stage that cannot make progress. Per stage it combines the
queue in Redis (depth, age of the oldest message from the outbox) with the reports the
stage's workers publish every few seconds (shared/worker_health.py):

- `down`: no worker of the stage has a pool process up (none running, all wedged or
  unable to start), and nothing waits yet;
- `stuck`: messages wait and either no worker can take them, or none has accepted or
  finished a task for PIPELINE_STALL_SECONDS while the oldest message is older than that
  (a task in progress counts as progress: the hard time limit bounds it);
- `ok` otherwise. Answers 503 when any stage is not ok.
"""

import time
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from shared.names import ENTITIES_QUEUE_PREFIX, stage_queue_lists
from shared.outbox import next_in_line_sent_at
from shared.settings import LANGUAGE_CODE_RE, Settings
from shared.worker_health import FORGET_AFTER_S, WorkerReport, workers_key


class WorkerHealth(BaseModel):
    node: str
    processes_up: int = Field(description="Pool processes that finished start-up")
    processes_starting: int
    failed_starts: int = Field(description="Pool processes in a row that died starting")
    active: int = Field(description="Tasks running now")
    report_age_s: float
    last_progress_s: float = Field(description="Seconds since a task was accepted or finished")
    error: str | None = None


class StageHealth(BaseModel):
    stage: str
    status: Literal["ok", "stuck", "down"]
    reason: str | None = None
    queue_depth: int
    oldest_message_age_s: float | None = Field(
        None, description="Age of the message next in line; null when empty or unknown"
    )
    live_workers: int = Field(description="Workers with a fresh report and a pool process up")
    workers: list[WorkerHealth]


class PipelineHealth(BaseModel):
    status: Literal["ok", "degraded"]
    stall_seconds: float
    stages: list[StageHealth]


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    redis: str
    postgres: str


def assess_stage(
    stage: str,
    depth: int,
    oldest_age_s: float | None,
    reports: list[WorkerReport],
    now: float,
    stall_s: float,
    heartbeat_timeout_s: float,
) -> StageHealth:
    """One stage's verdict from its queue and its workers' reports (pure)."""
    fresh = [r for r in reports if r.is_fresh(now, heartbeat_timeout_s)]
    live = [r for r in fresh if r.ready > 0 and not r.error]
    status: Literal["ok", "stuck", "down"] = "ok"
    reason = None
    if not live:
        status = "stuck" if depth else "down"
        why = "; ".join(f"{r.node}: {r.error or 'no pool process up'}" for r in fresh)
        reason = f"no worker can take tasks ({why or 'no worker reports'})"
        if depth:
            reason = f"{depth} waiting, {reason}"
    else:
        idle_for = now - max(r.progress_at for r in live)
        waited = oldest_age_s if oldest_age_s is not None else idle_for
        busy = any(r.active for r in live)
        if depth and not busy and idle_for > stall_s and waited > stall_s:
            status = "stuck"
            reason = (
                f"{depth} waiting (oldest {waited:.0f}s), no task accepted or finished "
                f"for {idle_for:.0f}s"
            )
    return StageHealth(
        stage=stage,
        status=status,
        reason=reason,
        queue_depth=depth,
        oldest_message_age_s=None if oldest_age_s is None else round(oldest_age_s, 1),
        live_workers=len(live),
        workers=[
            WorkerHealth(
                node=r.node,
                processes_up=r.ready,
                processes_starting=r.starting,
                failed_starts=r.failed_starts,
                active=r.active,
                report_age_s=round(now - r.at, 1),
                last_progress_s=round(now - r.progress_at, 1),
                error=r.error,
            )
            for r in fresh
        ],
    )


def routed_languages_in_redis(redis: Any) -> set[str]:
    """Languages whose own entities queue (`entities.<lang>`) holds messages now: counted
    even when this gateway's ENTITIES_ROUTED_LANGUAGES no longer names them."""
    found = set()
    for key in redis.scan_iter(match=f"{ENTITIES_QUEUE_PREFIX}*", count=100):
        name = key.decode() if isinstance(key, bytes) else str(key)
        language = name[len(ENTITIES_QUEUE_PREFIX) :]
        if LANGUAGE_CODE_RE.fullmatch(language):
            found.add(language)
    return found


def queues_health(redis: Any, queues: list[str], now: float) -> tuple[int, float | None]:
    """(messages waiting in all of a stage's queues, age of the oldest next-in-line)."""
    depth = 0
    oldest: float | None = None
    for queue in queues:
        waiting = int(redis.llen(queue))
        depth += waiting
        head = next_in_line_sent_at(redis, queue) if waiting else None
        if head is not None and head != float("inf"):
            oldest = max(oldest or 0.0, now - head)
    return depth, oldest


def pipeline_health(redis: Any, settings: Settings, now: float | None = None) -> PipelineHealth:
    now = time.time() if now is None else now
    stages = []
    routed = settings.entities_routed() | routed_languages_in_redis(redis)
    for stage, queues in stage_queue_lists(routed).items():
        depth, oldest = queues_health(redis, queues, now)
        reports = []
        for node, raw in redis.hgetall(workers_key(stage)).items():
            report = WorkerReport.from_json(raw)
            if now - report.at > FORGET_AFTER_S:
                redis.hdel(workers_key(stage), node)
            else:
                reports.append(report)
        stages.append(
            assess_stage(
                stage,
                depth,
                oldest,
                reports,
                now,
                settings.pipeline_stall_seconds,
                settings.worker_heartbeat_timeout,
            )
        )
    ok = all(s.status == "ok" for s in stages)
    return PipelineHealth(
        status="ok" if ok else "degraded",
        stall_seconds=settings.pipeline_stall_seconds,
        stages=stages,
    )


def health_router(redis: Any, engine: Engine, settings: Settings) -> APIRouter:
    router = APIRouter(tags=["health"])
    unhealthy: dict[int | str, dict[str, Any]] = {
        503: {"description": "Not ready, or a stage is stuck or down (same body)"}
    }

    @router.get("/health")
    def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/ready", response_model=Readiness, responses=unhealthy)
    def ready() -> JSONResponse:
        """Redis and PostgreSQL are reachable."""
        checks: dict[str, str] = {}
        try:
            redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["postgres"] = "ok"
        except Exception as exc:
            checks["postgres"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        body = Readiness(status="ready" if ok else "unavailable", **checks)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    @router.get("/health/pipeline", response_model=PipelineHealth, responses=unhealthy)
    def pipeline() -> JSONResponse:
        """Each stage: queue depth, age of the oldest message, live workers, verdict."""
        report = pipeline_health(redis, settings)
        return JSONResponse(report.model_dump(), status_code=200 if report.status == "ok" else 503)

    return router
