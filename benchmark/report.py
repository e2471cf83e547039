"""The bench's result: one JSON document (build/bench-<corpus>.json) and the table printed from it.

Both are pure: `result` assembles what a run measured, `render` prints any such document,
so a table can be printed again from an old JSON (python -m benchmark --render FILE).

The document: corpus, articles, chars_per_article, cores; ceiling (scripts/ceiling.py's
JSON: cpu_ms_per_article per stage, cpu_ms_total_per_article, articles_per_cpu_second);
stack (project, containers_per_service, submitted/stored/failed/unsettled, submit_s,
window_s, articles_per_s, latency_s {p50,p95,p99}, cpu_window_s, cpu_s,
cpu_ms_per_article, bench_requests, containers [{name, service, cpu_s, cpu_ms_per_article,
memory_bytes}]); idle (submitted, stored, failed, latency_s); ratio; overhead_share (0-1);
queues (interval_s, samples, max and mean per stage, backlog, plot, series {t, depth
per stage}). A figure that could not be measured is null.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from benchmark.measures import QueueSummary, overhead_share, percentiles, ratio

MIB = 1024 * 1024


def container_rows(
    services: Mapping[str, str],
    cpu_s: Mapping[str, float],
    memory: Mapping[str, int | None],
    stored: int,
) -> list[dict[str, Any]]:
    """One row per container (name -> service), heaviest CPU first."""
    rows = [
        {
            "name": name,
            "service": service,
            "cpu_s": round(cpu_s[name], 3) if name in cpu_s else None,
            "cpu_ms_per_article": (
                round(1000 * cpu_s[name] / stored, 2) if name in cpu_s and stored else None
            ),
            "memory_bytes": memory.get(name),
        }
        for name, service in services.items()
    ]
    return sorted(rows, key=lambda r: (-(r["cpu_s"] or 0.0), r["name"]))


def result(
    *,
    corpus: str,
    texts: Sequence[str],
    ceiling: Mapping[str, Any] | None,
    project: str | None,
    services: Mapping[str, str],
    submitted: int,
    stored_latencies: Sequence[float],
    failed: int,
    submit_s: float,
    window_s: float | None,
    cpu_s: Mapping[str, float],
    cpu_window_s: float | None,
    memory: Mapping[str, int | None],
    idle_submitted: int,
    idle_latencies: Sequence[float],
    idle_failed: int,
    queues: QueueSummary,
    queue_series: Sequence[tuple[float, Mapping[str, float]]],
    interval_s: float,
    plot: str | None,
    cores: int | None = None,
    bench_requests: int | None = None,
) -> dict[str, Any]:
    """The document of one run; `cores` counts where the ceiling (which has its own) is
    missing."""
    stored = len(stored_latencies)
    per_s = stored / window_s if window_s else None
    cpu_total = sum(cpu_s.values()) if cpu_s else None
    cpu_ms = 1000 * cpu_total / stored if cpu_total is not None and stored else None
    per_service: dict[str, int] = {}
    for service in services.values():
        per_service[service] = per_service.get(service, 0) + 1
    ceiling_ms = float(ceiling["cpu_ms_total_per_article"]) if ceiling else None
    cores = int(ceiling["cores"]) if ceiling else cores
    return {
        "corpus": corpus,
        "articles": len(texts),
        "chars_per_article": round(sum(map(len, texts)) / len(texts)) if texts else 0,
        "ceiling": dict(ceiling) if ceiling else None,
        "stack": {
            "project": project,
            "containers_per_service": dict(sorted(per_service.items())),
            "submitted": submitted,
            "stored": stored,
            "failed": failed,
            "unsettled": submitted - stored - failed,
            "submit_s": round(submit_s, 3),
            "window_s": round(window_s, 3) if window_s is not None else None,
            "articles_per_s": round(per_s, 2) if per_s is not None else None,
            "latency_s": _rounded(percentiles(stored_latencies)),
            "cpu_window_s": round(cpu_window_s, 3) if cpu_window_s is not None else None,
            "cpu_s": round(cpu_total, 3) if cpu_total is not None else None,
            "cpu_ms_per_article": round(cpu_ms, 2) if cpu_ms is not None else None,
            "bench_requests": bench_requests,
            "containers": container_rows(services, cpu_s, memory, stored),
        },
        "idle": {
            "submitted": idle_submitted,
            "stored": len(idle_latencies),
            "failed": idle_failed,
            "latency_s": _rounded(percentiles(idle_latencies)),
        },
        "ratio": (
            _round(ratio(per_s, float(ceiling["articles_per_cpu_second"]), int(ceiling["cores"])))
            if ceiling and per_s is not None
            else None
        ),
        "cores": cores,
        "overhead_share": (
            _round(overhead_share(cpu_ms, ceiling_ms))
            if cpu_ms is not None and ceiling_ms is not None
            else None
        ),
        "queues": {
            "interval_s": interval_s,
            "samples": queues.samples,
            "max": queues.max,
            "mean": {stage: round(mean, 2) for stage, mean in queues.mean.items()},
            "backlog": queues.backlog,
            "plot": plot,
            "series": {
                "t": [t for t, _ in queue_series],
                "depth": {
                    stage: [sample.get(stage, 0.0) for _, sample in queue_series]
                    for stage in queues.max
                },
            },
        },
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None else None


def _rounded(values: Mapping[str, float | None]) -> dict[str, float | None]:
    return {key: _round(value) for key, value in values.items()}


# --- the table ---------------------------------------------------------------------------


def _num(value: Any, fmt: str, missing: str = "-") -> str:
    return missing if value is None else format(value, fmt)


def _latency(figures: Mapping[str, Any]) -> str:
    return "  ".join(f"{key} {_num(value, '.2f')} s" for key, value in figures.items())


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.0f} MiB"


def render(doc: Mapping[str, Any]) -> str:
    """The printed table of a result document."""
    stack, idle, queues = doc["stack"], doc["idle"], doc["queues"]
    ceiling = doc.get("ceiling")
    out = [
        f"make bench: corpus {doc['corpus']}, {doc['articles']} articles "
        f"({doc['chars_per_article']} characters on average), "
        f"{_num(doc.get('cores'), 'd', '?')} cores",
        "",
        "1. in-process ceiling (the stage functions in one process, no queues)",
    ]
    if ceiling:
        for stage, ms in ceiling["cpu_ms_per_article"].items():
            out.append(f"   {stage:<22} {ms:9.1f} ms CPU per article")
        total, rate = ceiling["cpu_ms_total_per_article"], ceiling["articles_per_cpu_second"]
        out.append(f"   {'total':<22} {total:9.1f} ms CPU per article")
        out.append(f"   {'throughput':<22} {rate:9.1f} articles per CPU-second")
        if ceiling.get("corpus") not in (None, doc["corpus"]):
            out.append(f"   (measured on corpus {ceiling['corpus']}, not {doc['corpus']})")
    else:
        out.append("   not measured (scripts/ceiling.py --json, then bench --ceiling)")
    per_service = ", ".join(f"{s} {n}" for s, n in stack["containers_per_service"].items())
    out += [
        "",
        f"2. the stack (compose project {stack['project'] or '?'}; "
        f"containers: {per_service or '-'})",
        f"   {'stored':<22} {stack['stored']} of {stack['submitted']} "
        f"({stack['failed']} failed, {stack['unsettled']} unsettled), "
        f"submitted in {stack['submit_s']:.2f} s",
        f"   {'throughput':<22} {_num(stack['articles_per_s'], '9.1f')} articles/s stored "
        f"(first received_at to last stored_at: {_num(stack['window_s'], '.2f')} s)",
        f"   {'CPU per article':<22} {_num(stack['cpu_ms_per_article'], '9.1f')} ms, every "
        f"container together ({_num(stack['cpu_s'], '.1f')} CPU-s over "
        f"{_num(stack['cpu_window_s'], '.1f')} s)",
        f"   {'bench requests':<22} {_num(stack.get('bench_requests'), '9d')} HTTP requests of "
        "the bench itself in that time (submit, polling, /metrics), in the gateway's CPU",
    ]
    ratio_line = "-"
    if ceiling and doc["ratio"] is not None:
        ratio_line = (
            f"{stack['articles_per_s']:.1f} / ({ceiling['articles_per_cpu_second']:.1f} x "
            f"{ceiling['cores']} cores) = {doc['ratio']:.2f}"
        )
    overhead_line = "-"
    if ceiling and doc["overhead_share"] is not None:
        overhead_line = (
            f"({stack['cpu_ms_per_article']:.1f} - {ceiling['cpu_ms_total_per_article']:.1f}) / "
            f"{stack['cpu_ms_per_article']:.1f} = {100 * doc['overhead_share']:.0f}% of the "
            "stack's CPU per article"
        )
    out += [
        "",
        f"3. ratio                   stack / (ceiling x cores): {ratio_line}",
        f"4. pipeline overhead       {overhead_line}",
        "",
        "5. latency (received_at to stored_at, server clocks)",
        f"   idle, one at a time     {_latency(idle['latency_s'])}  "
        f"({idle['stored']} of {idle['submitted']} stored)",
        f"   under load              {_latency(stack['latency_s'])}  ({stack['stored']} stored)",
        "",
        f"6. queue depth per stage (GET /metrics every {queues['interval_s']} s, "
        f"{queues['samples']} samples{'; plot ' + queues['plot'] if queues['plot'] else ''})",
        f"   {'stage':<12} {'max':>6} {'mean':>8}",
    ]
    for stage, top in queues["max"].items():
        mark = "  <- backlog" if stage == queues["backlog"] else ""
        out.append(f"   {stage:<12} {top:6.0f} {queues['mean'][stage]:8.1f}{mark}")
    if queues["max"] and queues["backlog"] is None:
        out.append("   no queue ever held a message")
    stages = (ceiling or {}).get("cpu_ms_per_article", {})
    out += [
        "",
        "7. per container: CPU over the throughput run, memory at its end",
        f"   {'container':<28} {'service':<10} {'CPU ms/article':>14} {'share':>6} "
        f"{'in-process':>10} {'memory':>9}",
    ]
    total = stack["cpu_ms_per_article"]
    for row in stack["containers"]:
        ms = row["cpu_ms_per_article"]
        share = f"{100 * ms / total:5.0f}%" if ms is not None and total else "     -"
        alone = stages.get(row["service"])
        out.append(
            f"   {row['name']:<28} {row['service']:<10} {_num(ms, '14.1f'):>14} {share:>6} "
            f"{_num(alone, '10.1f'):>10} {_mib(row['memory_bytes']):>9}"
        )
    memory = [r["memory_bytes"] for r in stack["containers"] if r["memory_bytes"] is not None]
    out.append(
        f"   {'total':<28} {'':<10} {_num(total, '14.1f'):>14} {'':>6} "
        f"{_num(ceiling['cpu_ms_total_per_article'] if ceiling else None, '10.1f'):>10} "
        f"{_mib(sum(memory) if memory else None):>9}"
    )
    out.append("   (in-process: the same stage's CPU per article in the ceiling, for comparison)")
    return "\n".join(out)
