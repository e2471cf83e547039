"""An outbox for stage-to-stage messages: the one gap Redis's queues leave is closed here.

Celery's Redis transport pops a message (BRPOP) before it records it as unacknowledged;
if Redis goes down in between (a restart), that message is gone. So every send first
writes the message to Redis under `newsflow:outbox:<article>:<task>`; the receiving task
deletes it when it starts. A sweeper in every worker re-sends an entry older than
VISIBILITY_TIMEOUT once it can tell the message is not waiting in its queue: the queue is
empty, or the message next in line was sent after it (queues are first in, first out).
A bulk import with hours of backlog is therefore not sent twice. What the sweeper cannot
date (a requeued message next in line) only delays it to a later sweep.

A message sent to a queue other than its task's own (the entities stage's per-language
queues, `entities.<lang>`) records that queue in its entry: the sweeper inspects and
re-sends to the queue the message was sent to.
"""

import json
import logging
import threading
import time
from typing import Any

import redis
from celery import Celery

from shared.ids import article_id_of_task, task_id
from shared.names import TASK_QUEUES

log = logging.getLogger(__name__)

OUTBOX_PREFIX = "newsflow:outbox:"
SWEEP_LOCK = "newsflow:outbox-sweeper"


def outbox_key(article_id: str, task_name: str) -> str:
    return f"{OUTBOX_PREFIX}{article_id}:{task_name}"


def send(
    app: Celery,
    client: "redis.Redis[Any]",
    task_name: str,
    message: dict[str, Any],
    article_id: str,
    ttl_seconds: int,
    queue: str | None = None,
) -> None:
    """Record the message, then send the task by name, to `queue` when given (else to
    the task's own queue, TASK_QUEUES)."""
    write(client, task_name, message, article_id, ttl_seconds, queue)
    send_to_queue(app, task_name, message, article_id, queue)


def write(
    client: Any,
    task_name: str,
    message: dict[str, Any],
    article_id: str,
    ttl_seconds: int,
    queue: str | None = None,
) -> None:
    """Record the message in the outbox: on a client, or queued on a pipeline (a stage
    writes it in the same transaction as its status, one round trip for both)."""
    entry = outbox_entry(task_name, message, time.time(), queue)
    client.set(outbox_key(article_id, task_name), json.dumps(entry), ex=ttl_seconds)


def outbox_entry(
    task_name: str, message: dict[str, Any], sent_at: float, queue: str | None = None
) -> dict[str, Any]:
    """What the outbox keeps of a sent message; the queue only when it is not the task's own."""
    entry: dict[str, Any] = {"task": task_name, "message": message, "sent_at": sent_at}
    if queue is not None:
        entry["queue"] = queue
    return entry


def send_to_queue(
    app: Celery, task_name: str, message: dict[str, Any], article_id: str, queue: str | None
) -> None:
    options: dict[str, Any] = {} if queue is None else {"queue": queue}
    app.send_task(task_name, args=[message], task_id=task_id(article_id), **options)


def entry_queue(entry: dict[str, Any]) -> str:
    """The queue an outbox entry's message was sent to."""
    return str(entry.get("queue") or TASK_QUEUES.get(entry["task"], "celery"))


def received(client: "redis.Redis[Any]", article_id: str, task_name: str) -> None:
    """The task has started: its message arrived, nothing to re-send."""
    client.delete(outbox_key(article_id, task_name))


_EMPTY = float("inf")  # an empty queue: every overdue entry of it was lost


def next_in_line_sent_at(client: "redis.Redis[Any]", queue: str) -> float | None:
    """When the message a queue delivers next was sent (its outbox entry), _EMPTY for an
    empty queue, None when that cannot be told (no entry: requeued, or not from here)."""
    # Kombu LPUSHes and BRPOPs: the right end of the list is next.
    raw = client.lindex(queue, -1)
    if raw is None:
        return _EMPTY
    try:
        headers = json.loads(raw)["headers"]
        article_id = article_id_of_task(str(headers["id"]))
        if article_id is None:
            return None
        entry = client.get(outbox_key(article_id, str(headers["task"])))
        return float(json.loads(entry)["sent_at"]) if entry is not None else None
    except (ValueError, KeyError, TypeError):
        return None


def resend_stale(app: Celery, client: "redis.Redis[Any]", older_than_s: float) -> int:
    """Send again every outbox entry not received within `older_than_s` and not waiting
    in its queue; how many."""
    now = time.time()
    resent = 0
    heads: dict[str, float | None] = {}
    for key in client.scan_iter(match=f"{OUTBOX_PREFIX}*", count=500):
        raw = client.get(key)
        if raw is None:
            continue  # received meanwhile
        entry = json.loads(raw)
        sent_at = float(entry["sent_at"])
        if now - sent_at < older_than_s:
            continue
        queue = entry_queue(entry)
        if queue not in heads:
            heads[queue] = next_in_line_sent_at(client, queue)
        head = heads[queue]
        if head is None or sent_at >= head:
            continue  # possibly still waiting behind the queue's head: not lost
        article_id = str(entry["message"].get("id", ""))
        entry["sent_at"] = now
        ttl = client.ttl(key)
        client.set(key, json.dumps(entry), ex=ttl if ttl and ttl > 0 else None)
        send_to_queue(app, entry["task"], entry["message"], article_id, entry.get("queue"))
        log.warning(
            "re-sent a message not received in time",
            extra={"article_id": article_id, "task": entry["task"], "queue": queue},
        )
        resent += 1
    return resent


def start_sweeper(app: Celery, client: "redis.Redis[Any]", older_than_s: float) -> None:
    """A daemon thread: every few seconds one worker (a Redis lock) sweeps the outbox."""
    interval = max(5.0, min(60.0, older_than_s / 4))

    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                if client.set(SWEEP_LOCK, "1", nx=True, ex=int(interval)):
                    resend_stale(app, client, older_than_s)
            except Exception:  # Redis down: try again next round
                log.warning("outbox sweep failed", exc_info=True)

    threading.Thread(target=loop, name="outbox-sweeper", daemon=True).start()
