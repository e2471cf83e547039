"""The HTTP side of the bench: submit articles to the gateway, find out when they are
stored, and sample the queue depths. Standard library only (urllib).

Latency is always the server's own, metadata.stored_at - metadata.received_at: polling
only finds out that an article has settled, it does not blur its latency. The bench's
own requests must not take the CPU the stack is measured on: during the throughput run
the bench only scrapes /metrics (one Redis round trip) twice a second, for the queue
depths and the count of articles stored or failed, and looks each article up once the
run is over and its CPU counters are read; the idle run asks about its one article five
times a second.
"""

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmark.corpus import ROOT, Article
from benchmark.measures import depth_by_stage, settled_total


def api_key(root: Path = ROOT) -> str:
    """NEWSFLOW_API_KEY, else the first of API_KEYS (environment, then root/.env); make
    seed (scripts/seed.py) reads it here too."""
    if os.environ.get("NEWSFLOW_API_KEY"):
        return os.environ["NEWSFLOW_API_KEY"]
    keys = os.environ.get("API_KEYS", "")
    env = root / ".env"
    if not keys and env.exists():
        for line in env.read_text(encoding="utf-8").splitlines():
            if line.startswith("API_KEYS="):
                keys = line.split("=", 1)[1].strip().strip("'\"")
    return next((key.strip() for key in keys.split(",") if key.strip()), "")


class Client:
    def __init__(self, url: str, key: str, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.requests = 0  # made so far: what the bench itself asked of the gateway

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        self.requests += 1
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if self.key:
            request.add_header("X-API-Key", self.key)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def json(self, method: str, path: str, payload: object = None) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        code, raw = self.request(method, path, body)
        try:
            return code, json.loads(raw or b"{}")
        except ValueError:
            return code, {"detail": raw[:200].decode(errors="replace")}


@dataclass
class Settled:
    """What became of submitted articles: server timestamps of the stored ones."""

    received_at: dict[str, datetime] = field(default_factory=dict)
    stored_at: dict[str, datetime] = field(default_factory=dict)
    failed: int = 0

    @property
    def done(self) -> int:
        return len(self.stored_at) + self.failed

    def latencies(self) -> list[float]:
        return [(self.stored_at[a] - self.received_at[a]).total_seconds() for a in self.stored_at]

    def window_s(self) -> float | None:
        """First received_at to last stored_at (server clocks)."""
        if not self.stored_at:
            return None
        return (max(self.stored_at.values()) - min(self.received_at.values())).total_seconds()


def check(client: Client, aid: str, settled: Settled) -> bool:
    """Look the article up once; True (and noted in `settled`) when stored or failed."""
    _, article = client.json("GET", f"/articles/{aid}")
    meta = article.get("metadata") or {}
    if article.get("status") == "failed":
        settled.failed += 1
        return True
    if not meta.get("stored_at"):
        return False
    settled.stored_at[aid] = datetime.fromisoformat(meta["stored_at"])
    settled.received_at[aid] = datetime.fromisoformat(meta["received_at"])
    return True


def submit(client: Client, todo: Sequence[Article], batch: int) -> list[str]:
    """Submit in batches (POST /articles/batch); the ids in order. Raises on a refusal."""
    ids: list[str] = []
    for i in range(0, len(todo), batch):
        code, answer = client.json("POST", "/articles/batch", {"articles": todo[i : i + batch]})
        if code != 202:
            raise RuntimeError(f"batch refused: HTTP {code} {answer}")
        ids.extend(answer["ids"])
    return ids


def wait_settled(
    client: Client, ids: Sequence[str], timeout: float, poll_s: float = 0.5, misses: int = 3
) -> Settled:
    settled = Settled()
    pending = list(ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        missed = 0
        for aid in list(pending):
            if check(client, aid, settled):
                pending.remove(aid)
                continue
            missed += 1
            if missed >= misses:
                break
        if pending:
            time.sleep(poll_s)
    return settled


def settled_now(client: Client) -> float:
    """The gateway's count of articles stored or failed so far (one GET /metrics)."""
    code, raw = client.request("GET", "/metrics")
    if code != 200:
        raise RuntimeError(f"GET /metrics: HTTP {code}")
    return settled_total(raw.decode("utf-8", errors="replace"))


def wait_counted(sampler: "QueueSampler", target: float, timeout: float) -> bool:
    """Until the sampler's scrapes count `target` articles settled (or the timeout): the
    throughput run asks nothing of the gateway but /metrics while the CPU is measured."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sampler.settled is not None and sampler.settled >= target:
            return True
        time.sleep(sampler.interval_s / 2)
    return False


def one_at_a_time(
    client: Client, todo: Sequence[Article], timeout: float, poll_s: float = 0.2
) -> Settled:
    """Each article alone on the stack: submitted once the previous one has settled."""
    settled = Settled()
    for article in todo:
        code, answer = client.json("POST", "/articles", article)
        if code not in (200, 202):
            raise RuntimeError(f"article refused: HTTP {code} {answer}")
        deadline = time.monotonic() + timeout
        while not check(client, answer["id"], settled) and time.monotonic() < deadline:
            time.sleep(poll_s)
    return settled


class QueueSampler(threading.Thread):
    """GET /metrics every `interval_s` in the background: (seconds, depth per stage)."""

    def __init__(self, client: Client, interval_s: float = 0.5) -> None:
        super().__init__(name="queue-sampler", daemon=True)
        self.client = client
        self.interval_s = interval_s
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.settled: float | None = None  # stored + failed, as of the latest scrape
        self.errors = 0
        self._stop_event = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        self.started_at = time.monotonic()
        while not self._stop_event.is_set():
            tick = time.monotonic()
            try:
                code, raw = self.client.request("GET", "/metrics")
            except OSError:
                code, raw = 0, b""
            if code == 200:
                text = raw.decode("utf-8", errors="replace")
                self.samples.append((round(tick - self.started_at, 3), depth_by_stage(text)))
                self.settled = settled_total(text)
            else:
                self.errors += 1
            self._stop_event.wait(max(0.0, self.interval_s - (time.monotonic() - tick)))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
