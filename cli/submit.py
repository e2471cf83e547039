"""`newsflow submit`: send articles in batches, then (with --wait) follow each to the end.

Batches are POST /articles/batch of at most the server's MAX_BATCH_SIZE articles (read
from its /openapi.json) and about MAX_BATCH_BYTES of JSON; a batch the server still finds
too large (413, or 422 `too_long`) is split in two and sent again. Each item of the answer
is either accepted (an id; `duplicate` when the server knew it already) or refused with a
field and a reason. Waiting polls GET /articles/{id} until every article is `stored` or
`failed` (with the stage and reason of its failure).
"""

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from cli.client import DEFAULT_BATCH_SIZE, ApiError, Client
from cli.files import Input

MAX_BATCH_BYTES = 8_000_000  # under the server's MAX_BATCH_BODY_BYTES default (50 MB)
FINAL = frozenset({"stored", "failed"})


class Reporter(Protocol):
    """Progress: what the command shows while it works (nothing, in tests)."""

    def submitted(self, count: int) -> None: ...
    def waiting(self, total: int) -> None: ...
    def finished(self, stored: bool) -> None: ...


class Silent:
    def submitted(self, count: int) -> None:
        pass

    def waiting(self, total: int) -> None:
        pass

    def finished(self, stored: bool) -> None:
        pass


@dataclass
class Refused:
    origin: str
    reason: str


@dataclass
class Accepted:
    id: str
    origin: str
    duplicate: bool
    status: str
    reason: str | None = None  # why it failed: "stage: reason"


@dataclass
class Outcome:
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    waited: bool = False

    def count(self, status: str) -> int:
        return sum(1 for a in self.accepted if a.status == status)

    @property
    def stored(self) -> int:
        return self.count("stored")

    @property
    def failed(self) -> list[Accepted]:
        return [a for a in self.accepted if a.status == "failed"]

    @property
    def pending(self) -> list[Accepted]:
        return [a for a in self.accepted if a.status not in FINAL]

    @property
    def duplicates(self) -> int:
        return sum(1 for a in self.accepted if a.duplicate)

    @property
    def exit_code(self) -> int:
        """0 when every article was accepted and, with --wait, every one is stored;
        1 otherwise (refused, failed, or still in the pipeline at the timeout)."""
        if self.refused or self.failed:
            return 1
        if self.waited and self.pending:
            return 1
        return 0


def batches(inputs: Iterable[Input], size: int, max_bytes: int) -> Iterator[list[Input]]:
    """Readable inputs grouped by `size` articles and about `max_bytes` of JSON each (an
    article bigger than that goes alone); unreadable ones come alone, to be reported."""
    batch: list[Input] = []
    weight = 0
    for item in inputs:
        if item.article is None:
            yield [item]
            continue
        item_bytes = len(json.dumps(item.article, ensure_ascii=False).encode()) + 1
        if batch and (len(batch) >= size or weight + item_bytes > max_bytes):
            yield batch
            batch, weight = [], 0
        batch.append(item)
        weight += item_bytes
    if batch:
        yield batch


class Submitter:
    def __init__(
        self,
        client: Client,
        reporter: Reporter | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll_interval: float = 1.0,
    ) -> None:
        self.client = client
        self.reporter = reporter or Silent()
        self.sleep = sleep
        self.clock = clock
        self.poll_interval = poll_interval
        self.outcome = Outcome()

    def batch_size(self, requested: int | None = None) -> int:
        """Articles per batch: the server's MAX_BATCH_SIZE, or fewer when requested."""
        server = self.client.batch_limit() or DEFAULT_BATCH_SIZE
        return min(requested, server) if requested else server

    def submit(
        self, inputs: Iterable[Input], batch_size: int, max_bytes: int = MAX_BATCH_BYTES
    ) -> Outcome:
        """Send every input, `batch_size` articles (and about `max_bytes`) a request."""
        for batch in batches(inputs, batch_size, max_bytes):
            if batch[0].article is None:
                self.outcome.refused.append(Refused(batch[0].origin, batch[0].error or "?"))
                self.reporter.submitted(1)
                continue
            self._send(batch)
        return self.outcome

    def _send(self, batch: list[Input]) -> None:
        try:
            answer = self.client.submit_batch([item.article or {} for item in batch])
        except ApiError as exc:
            if exc.batch_too_large and len(batch) > 1:
                half = len(batch) // 2
                self._send(batch[:half])
                self._send(batch[half:])
                return
            raise
        for position, item in enumerate(answer["items"]):
            source = batch[item.get("index", position)]
            error = item.get("error")
            if error is not None or item.get("id") is None:
                where = f"{error['field']}: " if error and error.get("field") else ""
                reason = error["reason"] if error else "refused"
                self.outcome.refused.append(Refused(source.origin, f"{where}{reason}"))
            else:
                self.outcome.accepted.append(
                    Accepted(
                        id=str(item["id"]),
                        origin=source.origin,
                        duplicate=bool(item.get("duplicate")),
                        status=item["status"],
                    )
                )
        self.reporter.submitted(len(batch))

    def wait(self, timeout: float | None = None) -> Outcome:
        """Poll every accepted article until it is stored or failed, or `timeout` (s)."""
        self.outcome.waited = True
        by_id: dict[str, list[Accepted]] = {}
        for accepted in self.outcome.accepted:
            by_id.setdefault(accepted.id, []).append(accepted)
        # A duplicate the server reported stored is final; a known `failed` is asked for
        # its reason like the others.
        pending = [aid for aid, group in by_id.items() if group[0].status != "stored"]
        self.reporter.waiting(len(by_id))
        for _ in range(len(by_id) - len(pending)):
            self.reporter.finished(True)
        deadline = None if timeout is None else self.clock() + timeout
        while pending:
            still: list[str] = []
            for aid in pending:
                status, reason = self._status(aid)
                for accepted in by_id[aid]:
                    accepted.status, accepted.reason = status, reason
                if status in FINAL:
                    self.reporter.finished(status == "stored")
                else:
                    still.append(aid)
            pending = still
            if not pending or (deadline is not None and self.clock() >= deadline):
                break
            self.sleep(self.poll_interval)
        return self.outcome

    def _status(self, aid: str) -> tuple[str, str | None]:
        try:
            article = self.client.article(aid)
        except ApiError as exc:
            if exc.status == 404:  # accepted ids are never 404: its status expired
                return "failed", "unknown to the server (404)"
            raise
        status = str(article.get("status"))
        error = article.get("error") or {}
        reason = None
        if status == "failed":
            stage, why = error.get("stage"), error.get("reason")
            reason = f"{stage}: {why}" if stage else str(why or "no reason given")
        return status, reason
