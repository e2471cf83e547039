"""The bench's arithmetic and parsing (benchmark/measures.py): percentiles, the gateway's
queue gauges as it serves them, cgroup v1 and v2 files, the ratio, the overhead and the
queue summary."""

import math
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from benchmark.measures import (
    CgroupReading,
    cgroup_script,
    cpu_seconds,
    depth_by_stage,
    overhead_share,
    parse_cgroup,
    percentiles,
    prometheus_samples,
    ratio,
    settled_total,
    split_sections,
    summarise_queues,
)
from services.gateway.metrics import PipelineSnapshot, pipeline_families


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100, shuffled order must not matter
    got = percentiles(list(reversed(values)))
    assert got["p50"] == pytest.approx(50.5)
    assert got["p95"] == pytest.approx(95.05)
    assert got["p99"] == pytest.approx(99.01)


def test_percentiles_stay_within_the_values_and_handle_few_or_none() -> None:
    assert percentiles([0.3]) == {"p50": 0.3, "p95": 0.3, "p99": 0.3}
    two = percentiles([1.0, 3.0])
    assert two["p50"] == 2.0 and two["p99"] is not None and two["p99"] <= 3.0
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


class _Snapshot(Collector):
    def __init__(
        self, depths: list[tuple[str, str, int]], counters: dict[str, str] | None = None
    ) -> None:
        self.snapshot = PipelineSnapshot(
            counters=counters or {}, stage_times={}, queue_depths=depths, in_flight=0,
            oldest_queued_at=None, now=0.0,
        )  # fmt: skip

    def collect(self) -> Iterable[Metric]:
        return pipeline_families(self.snapshot)


def test_queue_depths_are_read_from_what_the_gateway_serves() -> None:
    registry = CollectorRegistry()
    registry.register(
        _Snapshot(
            [
                ("ingest", "ingest", 0),
                ("language", "language", 4),
                ("entities", "entities", 120),
                ("entities", "entities.de", 7),
                ("storage", "storage", 1),
            ]
        )
    )
    text = generate_latest(registry).decode()
    assert depth_by_stage(text) == {"ingest": 0, "language": 4, "entities": 127, "storage": 1}


def test_articles_stored_or_failed_are_counted_from_what_the_gateway_serves() -> None:
    registry = CollectorRegistry()
    counters = {"accepted": "300", "stored": "250", "failed|entities": "3", "failed|ingest": "1"}
    registry.register(_Snapshot([], counters))
    assert settled_total(generate_latest(registry).decode()) == 254


def test_prometheus_labels_are_unescaped_and_other_metrics_ignored() -> None:
    text = "\n".join(
        [
            "# HELP newsflow_queue_depth Messages waiting",
            "# TYPE newsflow_queue_depth gauge",
            'newsflow_queue_depth{stage="a\\"b",queue="x\\\\y"} 3.0',
            'newsflow_queue_depth_other{stage="a"} 9',
            "newsflow_queue_depth 2",
            'newsflow_queue_depth{stage="c"} NaN',
        ]
    )
    samples = prometheus_samples(text, "newsflow_queue_depth")
    assert samples[0] == ({"stage": 'a"b', "queue": "x\\y"}, 3.0)
    assert samples[1] == ({}, 2.0)
    assert math.isnan(samples[2][1])
    assert len(samples) == 3


V1 = {
    "/sys/fs/cgroup/cpuacct/cpuacct.usage": "2500000000\n",
    "/sys/fs/cgroup/memory/memory.usage_in_bytes": "300000000\n",
    "/sys/fs/cgroup/memory/memory.stat": "cache 1000\ntotal_inactive_file 100000000\n",
}
V2 = {
    "/sys/fs/cgroup/cpu.stat": "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
    "/sys/fs/cgroup/memory.current": "209715200\n",
    "/sys/fs/cgroup/memory.stat": "anon 1\ninactive_file 104857600\n",
}


def test_cgroup_v1_counters() -> None:
    assert parse_cgroup(V1) == CgroupReading(
        cpu_ns=2_500_000_000, memory_bytes=200_000_000, version="v1"
    )


def test_cgroup_v2_counters() -> None:
    assert parse_cgroup(V2) == CgroupReading(
        cpu_ns=1_500_000_000, memory_bytes=104_857_600, version="v2"
    )


def test_cgroup_with_nothing_readable() -> None:
    assert parse_cgroup({}) == CgroupReading(cpu_ns=None, memory_bytes=None, version="?")


def test_the_shell_line_prints_the_readable_files_only(tmp_path: Path) -> None:
    usage = tmp_path / "cpuacct.usage"
    usage.write_text("42\n")
    stat = tmp_path / "memory.stat"
    stat.write_text("total_inactive_file 1\nrss 2\n")
    script = cgroup_script([str(usage), str(tmp_path / "missing"), str(stat)])
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert split_sections(out) == {
        str(usage): "42\n",
        str(stat): "total_inactive_file 1\nrss 2\n",
    }


def test_cpu_seconds_between_two_readings_of_the_same_containers() -> None:
    def reading(ns: int | None) -> CgroupReading:
        return CgroupReading(cpu_ns=ns, memory_bytes=None, version="v1")

    before = {
        "gateway": reading(1_000_000_000),
        "redis": reading(None),
        "gone": reading(5),
        "restarted": reading(9_000_000_000),
    }
    after = {
        "gateway": reading(3_500_000_000),
        "redis": reading(10),
        "new": reading(7),
        "restarted": reading(1_000),  # a fresh cgroup: the counter started again
    }
    assert cpu_seconds(before, after) == {"gateway": 2.5}


def test_ratio_and_overhead() -> None:
    assert ratio(18.8, 23.4, 2) == pytest.approx(18.8 / 46.8)
    assert ratio(10.0, 0.0, 2) is None
    # 100 ms per article in the stack, 40 of them the stage functions: 60% overhead.
    assert overhead_share(100.0, 40.0) == pytest.approx(0.6)
    assert overhead_share(0.0, 40.0) is None


def test_queue_summary_names_the_stage_with_the_backlog() -> None:
    series = [
        {"ingest": 0, "language": 2, "entities": 10, "storage": 0},
        {"ingest": 0, "language": 0, "entities": 30},  # storage missing: counts as 0
        {"ingest": 3, "language": 1, "entities": 20, "storage": 1},
    ]
    summary = summarise_queues(series)
    assert list(summary.max) == ["ingest", "language", "entities", "storage"]
    assert summary.max == {"ingest": 3, "language": 2, "entities": 30, "storage": 1}
    assert summary.mean["entities"] == pytest.approx(20.0)
    assert summary.mean["storage"] == pytest.approx(1 / 3)
    assert summary.backlog == "entities"
    assert summary.samples == 3


def test_no_backlog_when_every_queue_stayed_empty() -> None:
    assert summarise_queues([{"ingest": 0.0}, {"ingest": 0.0}]).backlog is None
    empty = summarise_queues([])
    assert empty.samples == 0 and empty.backlog is None and empty.max == {}
