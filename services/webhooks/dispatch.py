"""The dispatcher: from the event stream to one delivery per interested webhook.

A thread in each webhooks worker's main process reads `newsflow:events` as a member of the
consumer group `webhooks` (XREADGROUP): replicas share the events, each event goes to one
of them. For a `stored` or `failed` event it inserts one delivery row per webhook that
wants it (one per webhook and event, whatever happens twice) and sends the delivery task;
then it acknowledges the entry (XACK). An entry whose dispatcher died before XACK is
claimed by another after CLAIM_IDLE_MS (XAUTOCLAIM) and handled again, harmlessly.

Events are read in batches, at most every READ_EVERY_S (a read that returned one event
per article cost more CPU than the events themselves), and the webhooks' events are
looked up once per batch: an event no webhook wants costs no PostgreSQL transaction.
Abandoned entries are claimed every CLAIM_EVERY_S.

The same thread, under a Redis lock shared by the replicas, re-sends deliveries whose
message was lost (not attempted for VISIBILITY_TIMEOUT past their time), and deletes
finished deliveries older than WEBHOOK_DELIVERIES_KEEP_DAYS.

What it cannot recover: events trimmed from the stream before any dispatcher read them,
i.e. every webhooks worker down for longer than EVENTS_RETENTION_MINUTES.
"""

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import redis.exceptions
from celery import Celery
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from services.webhooks.delivery import payload
from shared.db.session import make_engine
from shared.db.webhooks import add_deliveries, claim_overdue, prune_deliveries, wanted_events
from shared.events import STREAM, Event, parse_fields
from shared.names import TASK_WEBHOOK_DELIVER
from shared.settings import Settings
from shared.status import redis_client

log = logging.getLogger(__name__)

GROUP = "webhooks"
BATCH = 100
READ_BLOCK_MS = 5000
READ_EVERY_S = 0.25
CLAIM_IDLE_MS = 60_000
CLAIM_EVERY_S = 15.0
SWEEP_LOCK = "newsflow:webhooks-sweeper"
SWEEP_EVERY_S = 30.0
PRUNE_EVERY_S = 3600.0
PAUSE_AFTER_ERROR_S = 5.0

Entry = tuple[str, dict[str, str]]
# (event id, event) -> ids of the deliveries to send
AddDeliveries = Callable[[str, Event], list[str]]


def handle(entries: Iterable[Entry], add: AddDeliveries, send: Callable[[str], None]) -> list[str]:
    """Make and send the deliveries of each final event; the entry ids to acknowledge
    (all of them: an event that is not final concerns no webhook)."""
    handled = []
    for entry_id, fields in entries:
        try:
            event = parse_fields(fields)
        except ValidationError:
            log.error("unreadable event skipped", extra={"event_id": entry_id})
            handled.append(entry_id)
            continue
        if event.final:
            for delivery_id in add(entry_id, event):
                send(delivery_id)
        handled.append(entry_id)
    return handled


def ensure_group(client: "redis.Redis[Any]") -> None:
    """The consumer group, created at the stream's end (events from now on) if missing."""
    try:
        client.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    except redis.exceptions.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def read_entries(answer: Any) -> list[Entry]:
    """XREADGROUP's answer as entries (RESP2 list; a deleted entry has no fields)."""
    entries: list[Entry] = []
    for _stream, items in answer or []:
        entries.extend((str(i), dict(f)) for i, f in items if f)
    return entries


class Dispatcher:
    def __init__(
        self,
        app: Celery,
        client: "redis.Redis[Any]",
        sessions: sessionmaker[Session],
        settings: Settings,
        consumer: str,
    ) -> None:
        self.app = app
        self.client = client
        self.sessions = sessions
        self.settings = settings
        self.consumer = consumer
        self._swept_at = 0.0
        self._pruned_at = 0.0
        self._claimed_at = 0.0

    def add(self, event_id: str, event: Event) -> list[str]:
        with self.sessions.begin() as session:
            return add_deliveries(
                session,
                event_id,
                event.status,
                event.article_id,
                lambda delivery_id: payload(delivery_id, event_id, event),
                datetime.now(UTC),
            )

    def send(self, delivery_id: str) -> None:
        self.app.send_task(TASK_WEBHOOK_DELIVER, args=[{"delivery_id": delivery_id}])

    def step(self) -> int:
        """Claim abandoned entries when due, else read new ones; handle and acknowledge
        them; sweep when due. How many entries were handled."""
        entries: list[Entry] = []
        now = time.monotonic()
        if now - self._claimed_at >= CLAIM_EVERY_S:
            self._claimed_at = now
            claimed = self.client.xautoclaim(
                STREAM,
                GROUP,
                self.consumer,
                min_idle_time=CLAIM_IDLE_MS,
                start_id="0-0",
                count=BATCH,
            )
            entries = [(str(i), dict(f)) for i, f in (claimed[1] if claimed else []) if f]
        if not entries:
            answer = self.client.xreadgroup(
                GROUP, self.consumer, {STREAM: ">"}, count=BATCH, block=READ_BLOCK_MS
            )
            entries = read_entries(answer)
        wanted: set[str] | None = None

        def add(event_id: str, event: Event) -> list[str]:
            nonlocal wanted
            if wanted is None:
                with self.sessions.begin() as session:
                    wanted = wanted_events(session)
            return self.add(event_id, event) if event.status in wanted else []

        done = handle(entries, add, self.send)
        if done:
            self.client.xack(STREAM, GROUP, *done)  # type: ignore[no-untyped-call]
        self.sweep()
        return len(done)

    def sweep(self) -> None:
        now = time.monotonic()
        if now - self._swept_at < SWEEP_EVERY_S:
            return
        self._swept_at = now
        if not self.client.set(SWEEP_LOCK, self.consumer, nx=True, ex=int(SWEEP_EVERY_S)):
            return  # another replica sweeps this round
        wall = datetime.now(UTC)
        overdue_before = wall - timedelta(seconds=self.settings.visibility_timeout)
        with self.sessions.begin() as session:
            lost = claim_overdue(session, overdue_before, wall, BATCH)
        for delivery_id in lost:
            self.send(delivery_id)
        if lost:
            log.warning(
                "re-sent webhook deliveries whose message was lost", extra={"count": len(lost)}
            )
        if now - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = now
            keep = timedelta(days=self.settings.webhook_deliveries_keep_days)
            with self.sessions.begin() as session:
                pruned = prune_deliveries(session, wall - keep)
            if pruned:
                log.info("old webhook deliveries deleted", extra={"count": pruned})

    def run(self) -> None:
        ready = False
        while True:
            try:
                if not ready:
                    ensure_group(self.client)
                    ready = True
                started = time.monotonic()
                if self.step() < BATCH:
                    # Let events gather: one read per batch, not one per event.
                    time.sleep(max(0.0, READ_EVERY_S - (time.monotonic() - started)))
            except redis.exceptions.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    ready = False  # the stream or the group is gone (Redis data lost)
                log.warning("webhook dispatcher: Redis refused", extra={"error": repr(exc)})
                time.sleep(PAUSE_AFTER_ERROR_S)
            except Exception:
                # Redis or PostgreSQL unavailable, mostly: the entry stays pending, and is
                # handled again once they are back.
                log.warning("webhook dispatcher failed a round", exc_info=True)
                time.sleep(PAUSE_AFTER_ERROR_S)


def start_dispatcher(app: Celery, settings: Settings) -> threading.Thread:
    """The dispatcher in a daemon thread of this process."""
    client = redis_client(settings.redis_url, timeout_s=READ_BLOCK_MS / 1000 + 10)
    sessions = sessionmaker(make_engine(settings.database_url, pool_size=2), expire_on_commit=False)
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    dispatcher = Dispatcher(app, client, sessions, settings, consumer)
    thread = threading.Thread(target=dispatcher.run, name="webhook-dispatcher", daemon=True)
    thread.start()
    log.info("webhook dispatcher started", extra={"consumer": consumer, "group": GROUP})
    return thread
