"""The compose project's containers and their cgroup counters, through the docker CLI.

Each container's CPU time and memory are read from its own cgroup files, inside it, by
one `docker exec <container> sh -c '...cat...'` per container (measures.cgroup_script):

- cumulative counters (CPU nanoseconds since the container started), so two readings,
  before and after the throughput run, give exactly the CPU spent in between, whatever
  ran (worker pool processes, healthchecks, Postgres backends), with no sampling error;
  `docker stats` only shows an instantaneous percentage;
- cgroup v1 (cpuacct.usage) and v2 (cpu.stat usage_usec) both, whichever the host has;
- no dependency and no assumption about where the Docker socket or the host's cgroup tree
  are: the docker CLI the user already runs, with its context and DOCKER_HOST. The Engine
  API's stats (`stream=false`) would need a client for the socket and waits for a second
  sample (about a second per container) unless the daemon supports one-shot;
- cheap: one short exec per container before and after (in parallel, outside the measured
  throughput), which costs the container a `sh` and a `cat` (a millisecond or so).
Every image of the stack (Python slim, Postgres, Redis) has `sh` and `cat`.
"""

import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from benchmark.measures import CgroupReading, cgroup_script, parse_cgroup, split_sections

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


@dataclass(frozen=True)
class Container:
    name: str
    service: str


def _docker(*args: str, timeout: float = 30) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return done.stdout


def project_publishing(port: int) -> str | None:
    """The compose project of the running container that publishes `port` (the gateway's):
    the stack being measured, whatever directory it was started from."""
    out = _docker(
        "ps", "--filter", f"publish={port}", "--format", f'{{{{.Label "{PROJECT_LABEL}"}}}}'
    )
    projects = [line.strip() for line in out.splitlines() if line.strip()]
    return projects[0] if projects else None


def project_containers(project: str) -> list[Container]:
    """The project's running containers, sorted by service then name."""
    out = _docker(
        "ps",
        "--filter",
        f"label={PROJECT_LABEL}={project}",
        "--format",
        f'{{{{.Names}}}}\t{{{{.Label "{SERVICE_LABEL}"}}}}',
    )
    found = [
        Container(name=name, service=service)
        for name, _, service in (line.partition("\t") for line in out.splitlines() if line)
    ]
    return sorted(found, key=lambda c: (c.service, c.name))


def read_cgroup(container: str) -> CgroupReading:
    """One container's CPU and memory counters; unreadable ones are None."""
    try:
        out = _docker("exec", container, "sh", "-c", cgroup_script())
    except (subprocess.SubprocessError, OSError):
        return CgroupReading(cpu_ns=None, memory_bytes=None, version="?")
    return parse_cgroup(split_sections(out))


def read_all(containers: Sequence[Container]) -> dict[str, CgroupReading]:
    """Every container's reading, taken in parallel so that they are close in time."""
    if not containers:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(containers))) as pool:
        readings = pool.map(read_cgroup, [c.name for c in containers])
        return dict(zip([c.name for c in containers], readings, strict=True))
