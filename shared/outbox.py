"""An outbox for stage-to-stage messages: the one gap Redis's queues leave is closed here.

Celery's Redis transport pops a message (BRPOP) before it records it as unacknowledged;
if Redis goes down in between (a restart), that message is gone. So every send first
writes the message to Redis under `newsflow:outbox:<article>:<task>`; the receiving task
deletes it when it starts. A sweeper in every worker re-sends any entry older than
VISIBILITY_TIMEOUT: a message that was lost, or one still waiting unusually long (then
it runs twice, which the idempotent stages make harmless).
"""

import json
import logging
import threading
import time
from typing import Any

import redis
from celery import Celery

from shared.ids import task_id

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
) -> None:
    """Record the message, then send the task by name."""
    entry = {"task": task_name, "message": message, "sent_at": time.time()}
    client.set(outbox_key(article_id, task_name), json.dumps(entry), ex=ttl_seconds)
    app.send_task(task_name, args=[message], task_id=task_id(article_id))


def received(client: "redis.Redis[Any]", article_id: str, task_name: str) -> None:
    """The task has started: its message arrived, nothing to re-send."""
    client.delete(outbox_key(article_id, task_name))


def resend_stale(app: Celery, client: "redis.Redis[Any]", older_than_s: float) -> int:
    """Send again every outbox entry not received within `older_than_s`; how many."""
    now = time.time()
    resent = 0
    for key in client.scan_iter(match=f"{OUTBOX_PREFIX}*", count=500):
        raw = client.get(key)
        if raw is None:
            continue  # received meanwhile
        entry = json.loads(raw)
        if now - float(entry["sent_at"]) < older_than_s:
            continue
        article_id = str(entry["message"].get("id", ""))
        entry["sent_at"] = now
        ttl = client.ttl(key)
        client.set(key, json.dumps(entry), ex=ttl if ttl and ttl > 0 else None)
        app.send_task(entry["task"], args=[entry["message"]], task_id=task_id(article_id))
        log.warning(
            "re-sent a message not received in time",
            extra={"article_id": article_id, "task": entry["task"]},
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
