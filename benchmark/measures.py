"""The bench's arithmetic and parsing, pure: percentiles, the gateway's Prometheus text,
cgroup counter files, the ratio, the pipeline's overhead and the queue summary."""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PERCENTILES = (50, 95, 99)
QUEUE_DEPTH = "newsflow_queue_depth"  # services/gateway/metrics.py


def percentiles(
    values: Sequence[float], ps: Sequence[int] = PERCENTILES
) -> dict[str, float | None]:
    """{"p50": ..., "p95": ..., "p99": ...}: linear interpolation between the closest ranks
    (numpy's default), so a percentile never leaves the range of the values; None if empty."""
    data = sorted(values)
    out: dict[str, float | None] = {}
    for p in ps:
        if not data:
            out[f"p{p}"] = None
            continue
        position = (len(data) - 1) * p / 100
        low = math.floor(position)
        high = min(low + 1, len(data) - 1)
        out[f"p{p}"] = data[low] + (data[high] - data[low]) * (position - low)
    return out


# --- Prometheus text exposition ----------------------------------------------------------

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _unescape(value: str) -> str:
    return re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m.group()], value)


def prometheus_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of metric `name` in a text exposition: (labels, value) each."""
    out = []
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if not match or match["name"] != name:
            continue
        labels = {key: _unescape(value) for key, value in _LABEL.findall(match["labels"] or "")}
        try:
            out.append((labels, float(match["value"])))
        except ValueError:
            continue
    return out


def depth_by_stage(text: str) -> dict[str, float]:
    """Messages waiting per stage (its queues summed: entities may have routed ones)."""
    out: dict[str, float] = {}
    for labels, value in prometheus_samples(text, QUEUE_DEPTH):
        stage = labels.get("stage", "?")
        out[stage] = out.get(stage, 0.0) + value
    return out


def settled_total(text: str) -> float:
    """Articles stored or failed so far, as the gateway counts them (its Prometheus text):
    the bench knows its articles are through without asking after each one."""
    stored = sum(value for _, value in prometheus_samples(text, "newsflow_articles_stored_total"))
    failed = sum(value for _, value in prometheus_samples(text, "newsflow_articles_failed_total"))
    return stored + failed


@dataclass(frozen=True)
class QueueSummary:
    samples: int
    max: dict[str, float]
    mean: dict[str, float]
    backlog: str | None  # the stage with the deepest queue on average; None: no queue at all


def summarise_queues(series: Sequence[Mapping[str, float]]) -> QueueSummary:
    """Max and mean depth per stage over the samples (a stage missing from a sample is 0),
    stages in the order they first appear (the gateway lists them in pipeline order)."""
    stages: list[str] = []
    for sample in series:
        stages += [stage for stage in sample if stage not in stages]
    n = len(series)
    maxima = {s: max((sample.get(s, 0.0) for sample in series), default=0.0) for s in stages}
    means = {s: sum(sample.get(s, 0.0) for sample in series) / n if n else 0.0 for s in stages}
    backlog = max(stages, key=lambda s: (means[s], maxima[s]), default=None)
    if backlog is not None and maxima[backlog] == 0:
        backlog = None
    return QueueSummary(samples=n, max=maxima, mean=means, backlog=backlog)


# --- cgroup counters ---------------------------------------------------------------------

# Read inside each container, whichever exist: cgroup v1 (cpuacct and memory controllers)
# or v2 (the unified hierarchy). The container's own cgroup is mounted at /sys/fs/cgroup.
CGROUP_FILES = (
    "/sys/fs/cgroup/cpuacct/cpuacct.usage",  # v1: CPU time, nanoseconds
    "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage",  # v1, where only the joint mount exists
    "/sys/fs/cgroup/cpu.stat",  # v2: usage_usec
    "/sys/fs/cgroup/memory/memory.usage_in_bytes",  # v1
    "/sys/fs/cgroup/memory/memory.stat",  # v1: total_inactive_file
    "/sys/fs/cgroup/memory.current",  # v2
    "/sys/fs/cgroup/memory.stat",  # v2: inactive_file
)
SECTION = "==> "


def cgroup_script(files: Sequence[str] = CGROUP_FILES) -> str:
    """A POSIX shell line printing each readable file after a `==> path` header."""
    return (
        f"for f in {' '.join(files)}; do "
        f'if [ -r "$f" ]; then echo "{SECTION}$f"; cat "$f"; fi; done'
    )


def split_sections(output: str) -> dict[str, str]:
    """{path: content} from cgroup_script's output."""
    out: dict[str, str] = {}
    path = None
    for line in output.splitlines():
        if line.startswith(SECTION):
            path = line[len(SECTION) :].strip()
            out[path] = ""
        elif path is not None:
            out[path] += line + "\n"
    return out


def _stat(content: str) -> dict[str, int]:
    out = {}
    for line in content.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


@dataclass(frozen=True)
class CgroupReading:
    cpu_ns: int | None  # CPU time used since the container started
    memory_bytes: int | None  # in use, less the inactive page cache (as `docker stats`)
    version: str  # "v1", "v2" or "?" (nothing readable)


def parse_cgroup(sections: Mapping[str, str]) -> CgroupReading:
    v1_cpu = next(
        (sections[p] for p in CGROUP_FILES[:2] if sections.get(p, "").strip().isdigit()), None
    )
    cpu_ns: int | None = None
    memory: int | None = None
    version = "?"
    if v1_cpu is not None:
        cpu_ns, version = int(v1_cpu), "v1"
    elif "usage_usec" in _stat(sections.get("/sys/fs/cgroup/cpu.stat", "")):
        cpu_ns = 1000 * _stat(sections["/sys/fs/cgroup/cpu.stat"])["usage_usec"]
        version = "v2"
    usage = sections.get("/sys/fs/cgroup/memory/memory.usage_in_bytes", "").strip()
    if usage.isdigit():
        inactive = _stat(sections.get("/sys/fs/cgroup/memory/memory.stat", ""))
        memory = int(usage) - inactive.get("total_inactive_file", 0)
    else:
        current = sections.get("/sys/fs/cgroup/memory.current", "").strip()
        if current.isdigit():
            inactive = _stat(sections.get("/sys/fs/cgroup/memory.stat", ""))
            memory = int(current) - inactive.get("inactive_file", 0)
    return CgroupReading(cpu_ns=cpu_ns, memory_bytes=memory, version=version)


def cpu_seconds(
    before: Mapping[str, CgroupReading], after: Mapping[str, CgroupReading]
) -> dict[str, float]:
    """CPU seconds each container used between two readings (those read both times; not
    one whose counter went back: it was restarted in between, its figure is unknown)."""
    out = {}
    for name, end in after.items():
        start = before.get(name)
        if start is None or start.cpu_ns is None or end.cpu_ns is None:
            continue
        if end.cpu_ns >= start.cpu_ns:
            out[name] = (end.cpu_ns - start.cpu_ns) / 1e9
    return out


# --- the figures of issue #12 ------------------------------------------------------------


def ratio(stack_per_s: float, ceiling_per_cpu_s: float, cores: int) -> float | None:
    """Stack throughput / (in-process ceiling x cores): 1.0 would use every core as well
    as one process without queues does."""
    best = ceiling_per_cpu_s * cores
    return stack_per_s / best if best > 0 else None


def overhead_share(stack_cpu_per_article: float, ceiling_cpu_per_article: float) -> float | None:
    """The share of the stack's CPU per article that the stage functions alone do not
    spend: queues, serialisation, HTTP, the database, Celery, polling... (0: none)."""
    if stack_cpu_per_article <= 0:
        return None
    return (stack_cpu_per_article - ceiling_cpu_per_article) / stack_cpu_per_article
