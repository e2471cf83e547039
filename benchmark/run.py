"""One bench run against the running stack (`make up` first), after scripts/ceiling.py.

In order: WARMUP articles then IDLE articles one at a time (latency on an idle stack);
the cgroup counters of every container of the compose project; N articles in batches
with the queue depths and the stored/failed count sampled from /metrics in the
background, until the count says every one is stored or failed; the counters again; then
each article looked up for its server timestamps. Then the table (stdout), the JSON and
the queue plot. Progress goes to stderr. Nothing is asserted; the exit status is 1 only
when articles did not settle.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmark import containers as docker
from benchmark.corpus import CORPORA, load, run_prefix
from benchmark.measures import cpu_seconds, summarise_queues
from benchmark.plot import plot_queues
from benchmark.report import render, result
from benchmark.stack import (
    Client,
    QueueSampler,
    api_key,
    one_at_a_time,
    settled_now,
    submit,
    wait_counted,
    wait_settled,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    parser.add_argument("-n", type=int, default=200, help="articles of the throughput run")
    parser.add_argument("--batch", type=int, default=50, help="articles per POST")
    parser.add_argument("--corpus", choices=CORPORA, default="french")
    parser.add_argument(
        "--eval-data", type=Path, default=Path("../shared/eval"), help="read in place"
    )
    parser.add_argument("--idle", type=int, default=50, help="articles sent one at a time")
    parser.add_argument("--warmup", type=int, default=3, help="idle articles not counted")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the run")
    parser.add_argument("--interval", type=float, default=0.5, help="queue sampling (s)")
    parser.add_argument("--project", help="compose project (default: the gateway port's)")
    parser.add_argument("--ceiling", type=Path, help="scripts/ceiling.py's JSON")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--plot", type=Path, help="write the queue-depth PNG here")
    parser.add_argument("--render", type=Path, help="only print the table of a result JSON")
    return parser.parse_args(argv)


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def find_containers(project: str | None, url: str) -> tuple[str | None, list[docker.Container]]:
    try:
        project = project or docker.project_publishing(urlsplit(url).port or 80)
        return project, docker.project_containers(project) if project else []
    except (OSError, subprocess.SubprocessError) as err:
        note(f"docker: {err}")
        return project, []


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        print(render(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    key = api_key()
    if not key:
        note("no API key: set NEWSFLOW_API_KEY or API_KEYS (make up writes one into .env)")
        return 1
    client = Client(args.url, key)
    ceiling = (
        json.loads(args.ceiling.read_text(encoding="utf-8"))
        if args.ceiling and args.ceiling.is_file()
        else None
    )
    project, containers = find_containers(args.project, args.url)
    if not containers:
        note(f"no running container of compose project {project!r}: no CPU or memory figures")

    todo = load(args.corpus, args.n, args.eval_data)
    alone = load(args.corpus, args.warmup + args.idle, args.eval_data, run_prefix("bench-idle"))
    note(f"idle latency: {args.warmup} + {args.idle} articles, one at a time")
    one_at_a_time(client, alone[: args.warmup], timeout=120)
    idle = one_at_a_time(client, alone[args.warmup :], timeout=120)

    note(f"throughput: {args.n} {args.corpus} articles in batches of {args.batch}")
    baseline = settled_now(client)
    before = docker.read_all(containers)
    cpu_started = time.monotonic()
    requests_before = client.requests
    sampler = QueueSampler(Client(args.url, key), args.interval)  # a client of its own
    sampler.start()
    started = time.monotonic()
    ids = submit(client, todo, args.batch)
    submit_s = time.monotonic() - started
    counted = wait_counted(sampler, baseline + len(ids), args.timeout)
    sampler.stop()
    own_requests = client.requests - requests_before + sampler.client.requests
    after = docker.read_all(containers)
    cpu_window_s = time.monotonic() - cpu_started
    # Outside the measured window: each article looked up (server timestamps), and any
    # the count missed (a redelivered store counts twice) waited for.
    settled = wait_settled(client, ids, args.timeout if not counted else 60)

    queues = summarise_queues([depths for _, depths in sampler.samples])
    plot = None
    if args.plot and sampler.samples:
        try:
            plot_queues(
                sampler.samples,
                list(queues.max),
                args.plot,
                f"Queue depth per stage: {args.n} {args.corpus} articles",
            )
            plot = str(args.plot)
        except ImportError:
            note("matplotlib is not installed (pip install -e '.[dev]'): no plot")
    doc = result(
        corpus=args.corpus,
        texts=[a["text"] for a in todo],
        ceiling=ceiling,
        project=project,
        services={c.name: c.service for c in containers},
        submitted=len(ids),
        stored_latencies=settled.latencies(),
        failed=settled.failed,
        submit_s=submit_s,
        window_s=settled.window_s(),
        cpu_s=cpu_seconds(before, after),
        cpu_window_s=cpu_window_s if containers else None,
        memory={name: reading.memory_bytes for name, reading in after.items()},
        idle_submitted=args.idle,
        idle_latencies=idle.latencies(),
        idle_failed=idle.failed,
        queues=queues,
        queue_series=sampler.samples,
        interval_s=args.interval,
        plot=plot,
        cores=os.cpu_count(),
        bench_requests=own_requests,
    )
    print(render(doc))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        note(f"wrote {args.json}")
    return 0 if settled.done == len(ids) else 1
