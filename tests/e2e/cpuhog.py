"""A CPU hog for tests under load: one busy loop per core, in a container of its own.

Built from the services' python base image (present wherever the stack builds, also on
the air-gapped path), bounded in time by itself, and removed when the test ends.
`python -m tests.e2e.cpuhog SECONDS` runs the same hog on the host, e.g. through a
whole `make test`.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

PYTHON_IMAGE = "python:3.11-slim-bookworm"
# Stops by itself even if the test process dies: never a hog left behind.
MAX_SECONDS = 1800

BUSY_LOOPS = """
import multiprocessing, sys, time
def spin(deadline):
    while time.monotonic() < deadline:
        pass
deadline = time.monotonic() + float(sys.argv[1])
procs = [multiprocessing.Process(target=spin, args=(deadline,)) for _ in range(int(sys.argv[2]))]
for p in procs: p.start()
for p in procs: p.join()
"""


@contextmanager
def cpu_hog(loops: int | None = None, seconds: int = MAX_SECONDS) -> Iterator[int]:
    """`loops` busy loops for the duration of the block; by default two per core, so every
    core is taken and any other runnable process gets a share as on a machine whose load
    average is twice its cores (CI's loaded machine showed 3.5 on 2 cores).

    Docker gives each container one fair share of the CPU however many processes it runs
    (CFS group scheduling), so a container of busy loops alone barely slows the others.
    `--cpu-shares` weighs the hog as `loops` processes would weigh outside any container,
    like the busy loops on the host that reproduced the wedge.
    """
    loops = loops or 2 * (os.cpu_count() or 2)
    name = f"newsflow-cpuhog-{uuid.uuid4().hex[:8]}"
    run = ["docker", "run", "-d", "--rm", "--name", name, f"--cpu-shares={1024 * loops}"]
    command = ["python3", "-c", BUSY_LOOPS, str(seconds), str(loops)]
    subprocess.run([*run, PYTHON_IMAGE, *command], check=True, capture_output=True, timeout=120)
    try:
        yield loops
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


if __name__ == "__main__":
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 3600
    with cpu_hog(seconds=seconds) as n:
        print(f"cpu hog: {n} busy loops for {seconds}s (Ctrl-C stops it)", flush=True)
        with suppress(KeyboardInterrupt):
            subprocess.run(["sleep", str(seconds)], check=False)
