"""Worker health that tells the truth: can this worker run the tasks of its queue?

Celery's own ping is answered by the worker's main process, which stays responsive
while its pool is wedged (every new pool process killed for missing the UP timeout, or
none able to start). So the signal chosen here is the pool itself, seen from the main
process, where Celery keeps it:

- A consumer bootstep (`PoolHeartbeat`) runs on the main process's event loop every
  WORKER_HEARTBEAT_SECONDS while the worker is connected to the broker. It counts the
  pool processes that finished start-up (sent Celery's UP message), the tasks in
  progress, and when the worker last made progress (accepted or finished a task).
- It writes that report to a local file, read by the container healthcheck
  (`python -m shared.healthcheck celery <stage>`, no broker round trip, cheap under
  load): healthy only while the report is fresh and at least one pool process is up.
  A wedged pool, a lost broker or a stopped event loop all make the container unhealthy.
- It publishes the same report to Redis (`newsflow:workers:<stage>`), where the
  gateway's /health/pipeline combines it with each queue's depth and age.
- A pool process that dies before it reports up counts as a failed start; after
  WORKER_POOL_START_ATTEMPTS in a row (or no process up for as long as that many starts
  may take) the worker exits non-zero, so the restart policy brings the container back
  clean instead of it looping forever inside one container.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the container healthcheck imports this module: stdlib only at run time
    from shared.settings import Settings

# Where a worker writes its report unless WORKER_HEALTH_FILE says otherwise.
DEFAULT_HEALTH_FILE = "/tmp/newsflow-worker-health.json"

log = logging.getLogger(__name__)

WORKERS_PREFIX = "newsflow:workers:"
# Exit status of a worker that gives up on its pool or its start-up (EX_SOFTWARE).
EXIT_POOL_BROKEN = 70
# Reports older than this are removed from Redis by readers.
FORGET_AFTER_S = 3600


def workers_key(stage: str) -> str:
    return f"{WORKERS_PREFIX}{stage}"


@dataclass
class WorkerReport:
    """What one worker's main process says of itself (file and Redis)."""

    stage: str
    node: str
    at: float
    ready: int  # pool processes up (finished start-up), alive
    starting: int  # pool processes started that have not reported up yet
    failed_starts: int  # pool processes in a row that died before reporting up
    active: int  # tasks running in the pool now
    progress_at: float  # last time a task was accepted or finished
    error: str | None = None
    # The worker's WORKER_HEARTBEAT_TIMEOUT: the report is stale this long after `at`
    # (the healthcheck reads it here rather than load the settings).
    stale_after: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> WorkerReport:
        return cls(**json.loads(raw))

    def is_fresh(self, now: float, timeout_s: float) -> bool:
        return now - self.at <= timeout_s


@dataclass
class PoolWatch:
    """Counts failed pool starts from successive looks at the pool (pure logic).

    A process seen starting that is gone at the next look without having been seen up
    failed to start; any process seen up resets the count.
    """

    max_failed_starts: int
    # How long the pool may have no process up before the worker gives up, even when
    # the failed starts came and went between two looks.
    no_ready_limit_s: float
    started_at: float
    failed_starts: int = 0
    last_ready_at: float | None = None
    _ready: set[int] = field(default_factory=set)
    _starting: set[int] = field(default_factory=set)

    def observe(self, ready: set[int], starting: set[int], now: float) -> None:
        self.failed_starts += len(self._starting - ready - starting)
        if ready - self._ready:  # a process finished start-up: the pool can start them
            self.failed_starts = 0
        if ready:
            self.last_ready_at = now
        self._ready, self._starting = set(ready), set(starting)

    def give_up_reason(self, now: float) -> str | None:
        if self.failed_starts >= self.max_failed_starts:
            return f"{self.failed_starts} pool processes in a row died before starting"
        since = self.started_at if self.last_ready_at is None else self.last_ready_at
        if not self._ready and now - since > self.no_ready_limit_s:
            return f"no pool process up for {now - since:.0f}s"
        return None


def pool_processes(pool: Any) -> tuple[set[int], set[int]]:
    """(pids up, pids starting) of a Celery prefork pool; the main process otherwise."""
    inner = getattr(pool, "_pool", None)
    processes = getattr(inner, "_pool", None)
    if processes is None:  # solo or threads pool: the main process does the work
        return {os.getpid()}, set()
    waiting = list(getattr(inner, "_waiting_to_start", ()))
    ready: set[int] = set()
    starting: set[int] = set()
    for proc in list(processes):
        pid = getattr(proc, "pid", None)
        if pid is None or not proc.is_alive():
            continue
        (starting if proc in waiting else ready).add(pid)
    return ready, starting


def write_report_file(path: str, report: WorkerReport) -> None:
    """Atomically replace the report file (the healthcheck never reads half of one)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".health-")
    with os.fdopen(fd, "w") as out:
        out.write(report.to_json())
    os.replace(tmp, target)


def check_report_file(
    path: str, timeout_s: float | None = None, stage: str | None = None, now: float | None = None
) -> str | None:
    """None when the worker can run tasks, else why not (the healthcheck's verdict). The
    report is stale after `timeout_s`, else after the timeout the worker wrote in it."""
    try:
        report = WorkerReport.from_json(Path(path).read_text())
    except FileNotFoundError:
        return "no report yet: the worker has not started its pool"
    except (OSError, ValueError, TypeError) as exc:
        return f"unreadable report: {exc}"
    if stage is not None and report.stage != stage:
        return f"report is of stage {report.stage!r}, not {stage!r}"
    now = time.time() if now is None else now
    timeout_s = timeout_s if timeout_s is not None else report.stale_after
    if timeout_s is None:
        return "report does not say when it goes stale"
    if not report.is_fresh(now, timeout_s):
        return f"report is {now - report.at:.0f}s old: event loop stopped or broker lost"
    if report.error:
        return report.error
    if report.ready <= 0:
        return f"no pool process up ({report.starting} starting, {report.failed_starts} failed)"
    return None


class Progress:
    """When the worker last accepted or finished a task, from Celery's worker state."""

    def __init__(self, now: float) -> None:
        self.at = now
        self._last: tuple[int, frozenset[str]] | None = None

    def update(self, accepted_total: int, active_ids: frozenset[str], now: float) -> float:
        current = (accepted_total, active_ids)
        if current != self._last:
            self._last = current
            self.at = now
        return self.at


def publish(client: Any, report: WorkerReport, ttl_s: int = FORGET_AFTER_S) -> None:
    pipe = client.pipeline()
    pipe.hset(workers_key(report.stage), report.node, report.to_json())
    pipe.expire(workers_key(report.stage), ttl_s)
    pipe.execute()


def heartbeat_step(stage: str, settings: Settings) -> type:
    """A Celery consumer bootstep that reports this worker's pool every few seconds."""
    from celery import bootsteps
    from celery.worker import state

    from shared.status import redis_client

    class PoolHeartbeat(bootsteps.StartStopStep):
        requires = ("celery.worker.consumer.tasks:Tasks",)

        def __init__(self, parent: Any, **kwargs: Any) -> None:
            super().__init__(parent, **kwargs)
            now = time.time()
            self.tref: Any = None
            self.watch = PoolWatch(
                max_failed_starts=settings.worker_pool_start_attempts,
                no_ready_limit_s=settings.worker_proc_alive_timeout
                * (settings.worker_pool_start_attempts + 1),
                started_at=now,
            )
            self.progress = Progress(now)
            self.redis = redis_client(settings.redis_url, timeout_s=2)
            self.gave_up = False

        def start(self, c: Any) -> None:
            self.beat(c)
            self.tref = c.timer.call_repeatedly(
                settings.worker_heartbeat_seconds, self.beat, (c,), priority=10
            )

        def stop(self, c: Any) -> None:
            if self.tref is not None:
                self.tref.cancel()
                self.tref = None

        def shutdown(self, c: Any) -> None:
            self.stop(c)
            # Gone on purpose: say so at once rather than let the report age.
            try:
                self.redis.hdel(workers_key(stage), c.hostname)
            except Exception:
                log.debug("could not remove the worker report", exc_info=True)
            Path(settings.worker_health_file).unlink(missing_ok=True)

        def beat(self, c: Any) -> None:
            now = time.time()
            ready, starting = pool_processes(c.pool)
            self.watch.observe(ready, starting, now)
            active = frozenset(r.id for r in list(state.active_requests))
            report = WorkerReport(
                stage=stage,
                node=c.hostname,
                at=now,
                ready=len(ready),
                starting=len(starting),
                failed_starts=self.watch.failed_starts,
                active=len(active),
                progress_at=self.progress.update(state.all_total_count[0], active, now),
                error=None,
                stale_after=settings.worker_heartbeat_timeout,
            )
            reason = self.watch.give_up_reason(now)
            if reason is not None:
                report.error = f"pool cannot start: {reason}"
            try:
                write_report_file(settings.worker_health_file, report)
            except OSError:
                log.warning("could not write the health report", exc_info=True)
            try:
                publish(self.redis, report)
            except Exception:
                log.warning("could not publish the health report", exc_info=True)
            if reason is not None and not self.gave_up:
                self.give_up(reason)

        def give_up(self, reason: str) -> None:
            self.gave_up = True
            log.critical(
                "worker cannot start its pool; exiting so that the container restarts",
                extra={"stage": stage, "reason": reason, "exit_status": EXIT_POOL_BROKEN},
            )
            # Warm shutdown with this exit status (unacknowledged tasks go back to Redis);
            # if that hangs on the broken pool, leave anyway.
            state.should_stop = EXIT_POOL_BROKEN
            exit_later(EXIT_POOL_BROKEN, after_s=30)

    return PoolHeartbeat


def exit_later(status: int, after_s: float) -> None:
    def leave() -> None:
        time.sleep(after_s)
        os._exit(status)

    threading.Thread(target=leave, name="exit-later", daemon=True).start()


@contextmanager
def startup_deadline(seconds: float, what: str) -> Iterator[None]:
    """Exit the process if the block (model loading, say) takes longer than `seconds`.

    A load that hangs (a stuck file system, a model that never finishes) would otherwise
    leave a worker that never starts and never says so; exiting lets the restart policy
    try again, and the container is unhealthy meanwhile.
    """
    done = threading.Event()

    def watchdog() -> None:
        if not done.wait(seconds):
            log.critical(
                "start-up took too long; exiting",
                extra={"what": what, "limit_s": seconds, "exit_status": EXIT_POOL_BROKEN},
            )
            logging.shutdown()
            os._exit(EXIT_POOL_BROKEN)

    threading.Thread(target=watchdog, name="startup-deadline", daemon=True).start()
    try:
        yield
    finally:
        done.set()


# --- Soft time limits that reach an idle pool process ---------------------------------
# billiard's timeout thread (in the main process) signals SIGUSR1 to the process that
# ran a job once the job's soft limit passes, if the main process has not yet read the
# job's result. When the main process is busy elsewhere (reconnecting to a restarted
# Redis), a job that finished in time still looks running, and the signal lands in a
# pool process that is idle, waiting for its next job: billiard's handler raises
# SoftTimeLimitExceeded there, outside any task, and the pool process dies
# ("Pool process ... error: SoftTimeLimitExceeded()", celery/celery#2952). billiard
# 4.3.2 still does this. The guard below raises only while a task runs in this process.

_in_task = threading.Event()


def task_started() -> None:
    _in_task.set()


def task_finished() -> None:
    _in_task.clear()


def guarded_soft_timeout_handler(signum: int, frame: Any) -> None:
    from billiard.exceptions import SoftTimeLimitExceeded

    if _in_task.is_set():
        raise SoftTimeLimitExceeded()
    log.warning("soft time limit signal reached an idle pool process; ignored")


def install_soft_timeout_guard() -> None:
    """Make billiard install the guarded handler in every pool process it starts.

    billiard's Worker.after_fork looks `soft_timeout_sighandler` up in its module when
    a pool process starts (tests/unit/test_worker_health.py checks that it still does).
    """
    import billiard.pool

    billiard.pool.soft_timeout_sighandler = guarded_soft_timeout_handler
