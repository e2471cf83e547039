"""Chaos under CPU pressure: pool processes restart while both cores are taken.

A busy-loop container (built from the same python base image as the services, so the
air-gapped path needs nothing more) takes every core for the whole test. Under that
pressure the entities pool children are SIGKILLed and Redis is restarted, so the worker
has to start new pool processes while the machine is saturated. Every article must still
end stored exactly once within SETTLE_TIMEOUT (600 s).

Before the fix, each new pool process loaded the spaCy models itself and took longer
than Celery's 4 s UP timeout under load: the worker killed and restarted pool processes
forever while its container reported healthy (the stage stored nothing more).
"""

import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import compose
from tests.e2e.cpuhog import cpu_hog
from tests.e2e.test_chaos import BATCH, articles, containers, settle, submit, wait_for

pytestmark = pytest.mark.e2e

# Kill every child of PID 1 (the Celery main process) in a worker container: its pool.
KILL_POOL = """
import os, signal
killed = 0
for name in os.listdir("/proc"):
    if not name.isdigit() or int(name) == os.getpid():
        continue
    try:
        with open(f"/proc/{name}/stat") as stat:
            ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        continue
    if ppid == 1:
        os.kill(int(name), signal.SIGKILL)
        killed += 1
print(killed)
"""


def kill_pool_processes(service: str) -> int:
    killed = 0
    for container in containers(service):
        done = subprocess.run(
            ["docker", "exec", container, "python", "-c", KILL_POOL],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        killed += int(done.stdout.strip() or 0)
    return killed


def test_chaos_6_pool_restarts_and_redis_restart_under_cpu_load_300(
    api: httpx.Client, stack: Any
) -> None:
    with cpu_hog() as loops:
        started = time.monotonic()
        ids = submit(api, articles("load", BATCH))
        wait_for(ids, BATCH // 10)  # mid-run: some stored, the rest in flight
        killed = kill_pool_processes("entities")
        assert killed >= 1, "no entities pool process to kill"
        compose("restart", "redis")
        outcome = settle("pool-restart-redis-restart-under-load", ids, started)
        print(f"CHAOS under load: {loops} busy loops, {killed} entities pool processes killed")
    assert (outcome.stored, outcome.failed, outcome.missing, outcome.duplicates) == (
        BATCH,
        0,
        0,
        0,
    )
