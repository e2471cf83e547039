"""The bench's result document and printed table (benchmark/report.py), its queue plot
(benchmark/plot.py) and the server-clock bookkeeping of benchmark/stack.py."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmark.measures import summarise_queues
from benchmark.plot import plot_queues
from benchmark.report import render, result
from benchmark.stack import Settled, api_key

CEILING = {
    "corpus": "french",
    "articles": 200,
    "cpu_ms_per_article": {"ingest": 0.3, "language": 16.7, "entities": 26.5, "envelope_json": 0.5},
    "cpu_ms_total_per_article": 44.0,
    "articles_per_cpu_second": 22.7,
    "cores": 2,
}
SERIES = [
    (0.0, {"ingest": 0.0, "language": 0.0, "entities": 0.0, "storage": 0.0}),
    (0.5, {"ingest": 40.0, "language": 10.0, "entities": 80.0, "storage": 0.0}),
    (1.0, {"ingest": 0.0, "language": 2.0, "entities": 150.0, "storage": 1.0}),
]


def a_result(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "corpus": "french",
        "texts": ["x" * 900, "y" * 1100],
        "ceiling": CEILING,
        "project": "main",
        "services": {
            "main-gateway-1": "gateway",
            "main-entities-1": "entities",
            "main-redis-1": "redis",
        },
        "submitted": 4,
        "stored_latencies": [1.0, 2.0, 3.0, 4.0],
        "failed": 0,
        "submit_s": 0.25,
        "window_s": 0.5,  # 4 stored in 0.5 s: 8 articles/s
        "cpu_s": {"main-gateway-1": 0.1, "main-entities-1": 0.3, "main-redis-1": 0.0},
        "cpu_window_s": 0.8,
        "memory": {"main-gateway-1": 100 * 1024 * 1024, "main-entities-1": None},
        "idle_submitted": 2,
        "idle_latencies": [0.2, 0.4],
        "idle_failed": 0,
        "queues": summarise_queues([depths for _, depths in SERIES]),
        "queue_series": SERIES,
        "interval_s": 0.5,
        "plot": "build/bench-queues.png",
        "bench_requests": 37,
    }
    args.update(changes)
    return result(**args)


def test_the_figures_of_issue_12() -> None:
    doc = a_result()
    stack = doc["stack"]
    assert stack["articles_per_s"] == 8.0
    assert stack["cpu_s"] == 0.4 and stack["cpu_ms_per_article"] == 100.0
    assert doc["ratio"] == round(8.0 / (22.7 * 2), 3)
    assert doc["overhead_share"] == 0.56  # (100 - 44) / 100
    assert stack["latency_s"] == {"p50": 2.5, "p95": 3.85, "p99": 3.97}
    assert doc["idle"]["latency_s"]["p50"] == pytest.approx(0.3)
    assert doc["chars_per_article"] == 1000
    assert stack["containers_per_service"] == {"entities": 1, "gateway": 1, "redis": 1}


def test_containers_come_heaviest_first_with_their_share_of_an_article() -> None:
    rows = a_result()["stack"]["containers"]
    assert [r["name"] for r in rows] == ["main-entities-1", "main-gateway-1", "main-redis-1"]
    assert rows[0]["cpu_ms_per_article"] == 75.0 and rows[0]["memory_bytes"] is None
    assert rows[1]["memory_bytes"] == 100 * 1024 * 1024


def test_the_queue_series_and_backlog_are_kept() -> None:
    queues = a_result()["queues"]
    assert queues["backlog"] == "entities"
    assert queues["series"]["t"] == [0.0, 0.5, 1.0]
    assert queues["series"]["depth"]["entities"] == [0.0, 80.0, 150.0]
    assert queues["max"]["ingest"] == 40.0


def test_the_table_shows_every_section_and_survives_a_json_round_trip() -> None:
    doc = a_result()
    table = render(doc)
    assert render(json.loads(json.dumps(doc))) == table
    for needle in (
        "26.5 ms CPU per article",  # ceiling, per stage
        "22.7 articles per CPU-second",
        "8.0 articles/s stored",
        "8.0 / (22.7 x 2 cores) = 0.18",
        "(100.0 - 44.0) / 100.0 = 56%",
        "p50 0.30 s",  # idle
        "p99 3.97 s",  # under load
        "entities        150     76.7  <- backlog",
        "main-entities-1",
        "100 MiB",
        "37 HTTP requests of the bench itself",
    ):
        assert needle in table, needle


def test_the_table_without_ceiling_containers_or_articles() -> None:
    doc = a_result(
        ceiling=None, services={}, cpu_s={}, memory={}, stored_latencies=[], window_s=None,
        cpu_window_s=None, queues=summarise_queues([]), queue_series=[], plot=None,
    )  # fmt: skip
    assert doc["ratio"] is None and doc["overhead_share"] is None
    assert doc["stack"]["articles_per_s"] is None
    table = render(doc)
    assert "not measured" in table and "p50 - s" in table


def test_the_queue_plot_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "out" / "queues.png"
    plot_queues(SERIES, ["ingest", "language", "entities", "storage"], path, "test")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_latency_and_window_come_from_the_server_clocks() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    settled = Settled(
        received_at={"a": t0, "b": t0 + timedelta(seconds=1)},
        stored_at={"a": t0 + timedelta(seconds=2), "b": t0 + timedelta(seconds=5)},
        failed=1,
    )
    assert sorted(settled.latencies()) == [2.0, 4.0]
    assert settled.window_s() == 5.0
    assert settled.done == 3
    assert Settled().window_s() is None


def test_the_api_key_is_read_as_make_seed_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSFLOW_API_KEY", raising=False)
    monkeypatch.delenv("API_KEYS", raising=False)
    (tmp_path / ".env").write_text("OTHER=1\nAPI_KEYS='k1, k2'\n")
    assert api_key(tmp_path) == "k1"
    monkeypatch.setenv("NEWSFLOW_API_KEY", "mine")
    assert api_key(tmp_path) == "mine"
