"""Worker health: the pool watch, the report the healthcheck reads, the soft-limit guard."""

import inspect
import json
import os
from pathlib import Path

import billiard.pool
import pytest
from billiard.exceptions import SoftTimeLimitExceeded

from shared import worker_health
from shared.worker_health import (
    PoolWatch,
    Progress,
    WorkerReport,
    check_report_file,
    guarded_soft_timeout_handler,
    pool_processes,
    write_report_file,
)


def watch(max_failed: int = 3, limit: float = 100.0) -> PoolWatch:
    return PoolWatch(max_failed_starts=max_failed, no_ready_limit_s=limit, started_at=0.0)


def report(**fields: object) -> WorkerReport:
    base = dict(
        stage="entities",
        node="entities@a",
        at=1000.0,
        ready=1,
        starting=0,
        failed_starts=0,
        active=0,
        progress_at=990.0,
    )
    return WorkerReport(**{**base, **fields})  # type: ignore[arg-type]


def test_pool_processes_that_die_starting_are_counted_until_the_worker_gives_up() -> None:
    w = watch(max_failed=3)
    # The wedge: each new process is killed before it reports up, and replaced.
    for step, pid in enumerate([11, 12, 13]):
        w.observe(ready=set(), starting={pid}, now=float(step))
        assert w.give_up_reason(float(step)) is None
    w.observe(ready=set(), starting={14}, now=3.0)
    assert w.failed_starts == 3
    assert "3 pool processes in a row died" in (w.give_up_reason(3.0) or "")


def test_a_process_that_comes_up_resets_the_count() -> None:
    w = watch(max_failed=3)
    w.observe(ready=set(), starting={11}, now=0.0)
    w.observe(ready=set(), starting={12}, now=1.0)
    w.observe(ready={12}, starting=set(), now=2.0)
    assert w.failed_starts == 0
    # A process started and up between two looks counts as a good start too.
    w.observe(ready={12}, starting={13}, now=3.0)
    w.observe(ready={12}, starting={14}, now=4.0)
    assert w.failed_starts == 1
    w.observe(ready={12, 15}, starting=set(), now=5.0)
    assert w.failed_starts == 0 and w.give_up_reason(5.0) is None


def test_a_pool_with_no_process_up_for_too_long_gives_up() -> None:
    # Processes that die between two looks are never seen starting: time catches them.
    w = watch(limit=100.0)
    w.observe(ready=set(), starting=set(), now=50.0)
    assert w.give_up_reason(50.0) is None
    w.observe(ready=set(), starting=set(), now=101.0)
    assert "no pool process up for 101s" in (w.give_up_reason(101.0) or "")


def test_a_busy_pool_never_gives_up() -> None:
    w = watch(limit=10.0)
    w.observe(ready={7}, starting=set(), now=0.0)
    w.observe(ready={7}, starting=set(), now=1000.0)
    assert w.give_up_reason(1000.0) is None


class _Proc:
    def __init__(self, pid: int, alive: bool = True) -> None:
        self.pid, self.alive = pid, alive

    def is_alive(self) -> bool:
        return self.alive


def test_pool_processes_reads_celerys_prefork_pool() -> None:
    up, starting, dead = _Proc(1), _Proc(2), _Proc(3, alive=False)

    class AsynPool:
        def __init__(self) -> None:
            self._pool = [up, starting, dead]
            self._waiting_to_start = {starting}

    class TaskPool:
        def __init__(self) -> None:
            self._pool = AsynPool()

    assert pool_processes(TaskPool()) == ({1}, {2})
    # A solo pool: the main process itself runs the tasks.
    assert pool_processes(object()) == ({os.getpid()}, set())


def test_report_file_round_trip_and_verdicts(tmp_path: Path) -> None:
    path = str(tmp_path / "health.json")
    assert "no report yet" in (check_report_file(path, 30, now=1000.0) or "")
    write_report_file(path, report())
    assert json.loads(Path(path).read_text())["ready"] == 1
    assert check_report_file(path, 30, stage="entities", now=1010.0) is None
    assert "of stage 'entities'" in (check_report_file(path, 30, stage="ingest", now=1010) or "")
    assert "old" in (check_report_file(path, 30, now=1031.0) or "")
    write_report_file(path, report(ready=0, starting=1, failed_starts=2))
    assert "no pool process up (1 starting, 2 failed)" in (
        check_report_file(path, 30, now=1001.0) or ""
    )
    write_report_file(path, report(error="pool cannot start: no pool process up for 300s"))
    assert "pool cannot start" in (check_report_file(path, 30, now=1001.0) or "")
    Path(path).write_text("{not json")
    assert "unreadable" in (check_report_file(path, 30, now=1001.0) or "")


def test_progress_moves_when_tasks_are_accepted_or_finish() -> None:
    progress = Progress(now=0.0)
    assert progress.update(5, frozenset({"a"}), now=1.0) == 1.0
    assert progress.update(5, frozenset({"a"}), now=2.0) == 1.0  # same task still running
    assert progress.update(5, frozenset(), now=3.0) == 3.0  # it finished
    assert progress.update(6, frozenset({"b"}), now=4.0) == 4.0  # another was accepted


def test_soft_time_limit_is_raised_in_a_task_and_ignored_between_tasks() -> None:
    guarded_soft_timeout_handler(10, None)  # idle pool process: nothing happens
    worker_health.task_started()
    try:
        with pytest.raises(SoftTimeLimitExceeded):
            guarded_soft_timeout_handler(10, None)
    finally:
        worker_health.task_finished()
    guarded_soft_timeout_handler(10, None)


def test_billiard_installs_the_guard_in_new_pool_processes() -> None:
    import shared.celery_app  # noqa: F401  (installs the guard on import)

    assert billiard.pool.soft_timeout_sighandler is guarded_soft_timeout_handler
    # billiard looks the handler up by this name when a pool process starts; if a new
    # billiard stops doing so, the guard silently stops working: fail here instead.
    source = inspect.getsource(billiard.pool.Worker.after_fork)
    assert "signal.signal(SIG_SOFT_TIMEOUT, soft_timeout_sighandler)" in source


def test_the_report_says_when_it_goes_stale_so_the_healthcheck_needs_no_settings(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "health.json")
    write_report_file(path, report(stale_after=20.0))
    assert check_report_file(path, stage="entities", now=1019.0) is None
    assert "old" in (check_report_file(path, stage="entities", now=1021.0) or "")
    write_report_file(path, report())  # an older worker's report: no timeout in it
    assert "does not say" in (check_report_file(path, now=1001.0) or "")


def test_the_healthcheck_imports_the_standard_library_only() -> None:
    """Docker runs it every few seconds in every container: importing the settings
    (pydantic) cost about 0.5 CPU-second per check."""
    import subprocess
    import sys

    probe = (
        "import sys, runpy; sys.argv = ['x', 'celery', 'entities', '/nonexistent'];\n"
        "try: runpy.run_module('shared.healthcheck', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pydantic', 'pydantic_settings', 'celery', 'redis', 'spacy', 'shared'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "unhealthy: no report yet" in done.stdout, done.stderr
    # (run as __main__, the healthcheck itself is not listed under its name)
    assert done.stdout.strip().splitlines()[-1] == str(["shared", "shared.worker_health"])
