"""/health/pipeline's verdict per stage, from its queue and its workers' reports."""

from services.gateway.health import assess_stage
from shared.worker_health import WorkerReport

NOW = 10_000.0
STALL = 45.0
TIMEOUT = 30.0


def worker(**fields: object) -> WorkerReport:
    base = dict(
        stage="entities",
        node="entities@a",
        at=NOW - 2,
        ready=1,
        starting=0,
        failed_starts=0,
        active=0,
        progress_at=NOW - 5,
    )
    return WorkerReport(**{**base, **fields})  # type: ignore[arg-type]


def verdict(depth: int, oldest: float | None, reports: list[WorkerReport]) -> tuple[str, str]:
    health = assess_stage("entities", depth, oldest, reports, NOW, STALL, TIMEOUT)
    return health.status, health.reason or ""


def test_a_live_worker_with_an_empty_queue_is_ok() -> None:
    assert verdict(0, None, [worker(progress_at=NOW - 3600)]) == ("ok", "")


def test_no_worker_is_down_and_stuck_once_messages_wait() -> None:
    assert verdict(0, None, [])[0] == "down"
    status, reason = verdict(3, 5.0, [])
    assert status == "stuck"
    assert reason == "3 waiting, no worker can take tasks (no worker reports)"


def test_a_wedged_pool_is_stuck_at_once_and_says_why() -> None:
    wedged = worker(ready=0, starting=1, failed_starts=4)
    status, reason = verdict(10, 2.0, [wedged])
    assert status == "stuck"
    assert "entities@a: no pool process up" in reason


def test_a_stale_report_is_a_dead_worker() -> None:
    assert verdict(1, 1.0, [worker(at=NOW - 31)])[0] == "stuck"
    health = assess_stage("entities", 1, 1.0, [worker(at=NOW - 31)], NOW, STALL, TIMEOUT)
    assert health.workers == []


def test_a_worker_that_reports_an_error_is_not_live() -> None:
    status, reason = verdict(1, 1.0, [worker(error="pool cannot start: 3 died")])
    assert status == "stuck" and "pool cannot start: 3 died" in reason


def test_no_progress_while_old_messages_wait_is_stuck() -> None:
    idle = worker(progress_at=NOW - 60)
    status, reason = verdict(5, 50.0, [idle])
    assert status == "stuck"
    assert reason == "5 waiting (oldest 50s), no task accepted or finished for 60s"


def test_recent_progress_a_task_in_progress_or_a_young_queue_is_ok() -> None:
    assert verdict(5, 50.0, [worker(progress_at=NOW - 10)])[0] == "ok"
    assert verdict(5, 50.0, [worker(progress_at=NOW - 60, active=1)])[0] == "ok"
    assert verdict(5, 10.0, [worker(progress_at=NOW - 60)])[0] == "ok"


def test_one_live_worker_is_enough() -> None:
    wedged = worker(node="entities@b", ready=0)
    health = assess_stage("entities", 2, 1.0, [wedged, worker()], NOW, STALL, TIMEOUT)
    assert health.status == "ok" and health.live_workers == 1 and len(health.workers) == 2
