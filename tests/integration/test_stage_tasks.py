"""Each stage's Celery task, run for real: messages go through the test Redis,
rows into the test PostgreSQL. Nothing is mocked."""

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from shared.envelope import ArticleEnvelope, ArticleInput
from shared.ids import article_id
from shared.names import (
    QUEUE_ENTITIES,
    QUEUE_LANGUAGE,
    QUEUE_STORAGE,
    TASK_ENTITIES,
    TASK_LANGUAGE,
    TASK_STORE,
    TASK_STORE_FAILURE,
)
from tests.conftest import SEEDS

pytestmark = pytest.mark.integration


@pytest.fixture()
def broker(stack_env: dict[str, str]) -> Iterator[redis.Redis]:
    """The test Redis, emptied, with every worker app and task pointed at it."""
    from services.entities import tasks as entities_tasks
    from services.entities.worker import app as entities_app
    from services.ingest import tasks as ingest_tasks
    from services.ingest.worker import app as ingest_app
    from services.language import tasks as language_tasks
    from services.language.worker import app as language_app
    from services.storage import tasks as storage_tasks
    from services.storage.worker import app as storage_app

    apps: list[Celery] = [ingest_app, language_app, entities_app, storage_app]
    for app in apps:
        app.conf.broker_url = stack_env["REDIS_URL"]
    for task in (
        ingest_tasks.process,
        language_tasks.detect,
        entities_tasks.extract,
        storage_tasks.store,
        storage_tasks.store_failed,
    ):
        task._status = None  # re-read REDIS_URL from the settings
    storage_tasks.session_factory.cache_clear()
    client = redis.Redis.from_url(stack_env["REDIS_URL"])
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="module")
def schema(pg_url: str) -> str:
    from services.storage.migrate import upgrade

    upgrade(pg_url)
    return pg_url


@pytest.fixture()
def migrated(schema: str) -> str:
    """The migrated test database, emptied for this test."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(schema)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("TRUNCATE articles CASCADE"))
    engine.dispose()
    return schema


def queued(client: redis.Redis, queue: str) -> list[tuple[str, dict[str, Any]]]:
    """(task name, first argument) of each message waiting in a Celery queue on Redis."""
    found = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], args[0]))
    return found


def seed_envelope(name: str = "000_a204d967c10c7bac.txt") -> ArticleEnvelope:
    text = (SEEDS / name).read_text(encoding="utf-8")
    return ArticleEnvelope(
        id=article_id(text), received_at=datetime.now(UTC), input=ArticleInput(text=text)
    )


def status_of(client: redis.Redis, aid: str) -> str:
    return client.hget(f"newsflow:article:{aid}", "status").decode()


def test_ingest_task_cleans_and_sends_language_by_name(broker: redis.Redis) -> None:
    from services.ingest.tasks import process

    envelope = seed_envelope()
    process.apply(args=[envelope.to_message()]).get()

    [(task, message)] = queued(broker, QUEUE_LANGUAGE)
    assert task == TASK_LANGUAGE
    clean = ArticleEnvelope.from_message(message).clean
    assert clean is not None
    assert "Alpha-News.org" not in clean.text
    assert clean.text.startswith("MOSCOU")
    assert status_of(broker, envelope.id) == "ingested"


def test_ingest_marks_same_content_under_another_id(broker: redis.Redis) -> None:
    from services.ingest.tasks import process

    first = seed_envelope()
    syndicated = first.model_copy(
        update={
            "id": article_id("", "other-site-1"),
            "input": first.input.model_copy(update={"external_id": "other-site-1"}),
        }
    )
    for envelope in (first, syndicated, first):  # the last one is a redelivery
        process.apply(args=[envelope.to_message()]).get()

    cleans = [ArticleEnvelope.from_message(m).clean for _, m in queued(broker, QUEUE_LANGUAGE)]
    assert [c.duplicate_of if c else "missing" for c in cleans] == [None, first.id, None]


def test_language_task_detects_french_and_sends_entities(broker: redis.Redis) -> None:
    from services.ingest.tasks import ingest_impl
    from services.language.tasks import detect

    envelope = ingest_impl(seed_envelope())
    detect.apply(args=[envelope.to_message()]).get()

    [(task, message)] = queued(broker, QUEUE_ENTITIES)
    assert task == TASK_ENTITIES
    language = ArticleEnvelope.from_message(message).language
    assert language is not None and language.code == "fr" and language.confidence >= 0.9
    assert len(language.paragraphs) == len(envelope.clean.paragraphs)  # type: ignore[union-attr]
    assert status_of(broker, envelope.id) == "language_detected"


def test_entities_task_extracts_and_sends_storage(broker: redis.Redis) -> None:
    from services.entities.tasks import extract
    from services.ingest.tasks import ingest_impl
    from services.language.tasks import language_impl
    from shared.settings import get_settings

    envelope = language_impl(ingest_impl(seed_envelope()), get_settings())
    extract.apply(args=[envelope.to_message()]).get()

    [(task, message)] = queued(broker, QUEUE_STORAGE)
    assert task == TASK_STORE
    entities = ArticleEnvelope.from_message(message).entities
    assert entities is not None and entities.status == "extracted"
    found = {(e.text, e.label) for e in entities.entities}
    assert ("Dmitri Peskov", "PER") in found
    assert status_of(broker, envelope.id) == "entities_extracted"


def test_storage_task_upserts_once_on_redelivery(broker: redis.Redis, migrated: str) -> None:
    from services.entities.tasks import entities_impl
    from services.ingest.tasks import ingest_impl
    from services.language.tasks import language_impl
    from services.storage.tasks import session_factory, store
    from shared.db.models import Article, EntityRow
    from shared.settings import get_settings

    settings = get_settings()
    envelope = entities_impl(language_impl(ingest_impl(seed_envelope()), settings), settings)
    assert envelope.entities is not None
    for _ in range(2):  # a redelivered message must not make a second row
        store.apply(args=[envelope.to_message()]).get()

    with session_factory()() as session:
        rows = session.scalar(select(func.count()).where(Article.id == envelope.id))
        entity_rows = session.scalar(
            select(func.count()).where(EntityRow.article_id == envelope.id)
        )
        stored = session.get(Article, envelope.id)
    assert rows == 1
    assert entity_rows == len(envelope.entities.entities)
    assert stored is not None and stored.status == "stored" and stored.language == "fr"
    assert status_of(broker, envelope.id) == "stored"


def test_permanent_failure_is_recorded_not_dropped(broker: redis.Redis, migrated: str) -> None:
    """A stage that cannot do its work ends the article `failed` with stage and reason."""
    from services.language.tasks import detect
    from services.storage.tasks import session_factory, store_failed
    from shared.db.models import Article

    envelope = seed_envelope()  # no `clean` section: the language stage must refuse it
    result = detect.apply(args=[envelope.to_message()])
    assert result.failed()

    live = broker.hgetall(f"newsflow:article:{envelope.id}")
    assert live[b"status"] == b"failed"
    error = json.loads(live[b"error"])
    assert (error["stage"], error["attempts"]) == ("language", 3)  # MAX_ATTEMPTS
    assert error["last_error_at"]

    [(task, failure)] = queued(broker, QUEUE_STORAGE)
    assert task == TASK_STORE_FAILURE
    store_failed.apply(args=[failure]).get()
    with session_factory()() as session:
        row = session.get(Article, envelope.id)
    assert row is not None
    assert (row.status, row.error_stage, row.error_attempts) == ("failed", "language", 3)
    assert row.failed_message == envelope.to_message()  # what a re-drive resends
    assert "ingest did not run" in (row.error_reason or "")


def test_message_that_keeps_killing_its_worker_is_failed_not_looped(
    broker: redis.Redis,
) -> None:
    """Deliveries that never finished are counted in Redis; past the cap the article fails."""
    from services.ingest.tasks import process
    from shared.pipeline import deliveries_key
    from shared.settings import get_settings

    envelope = seed_envelope()
    key = deliveries_key(envelope.id, "ingest")
    # As if MAX_DELIVERIES earlier deliveries had died mid-task (SIGKILL, OOM).
    broker.set(key, get_settings().max_deliveries)
    result = process.apply(args=[envelope.to_message()])

    assert result.failed()
    assert "PoisonMessageError" in repr(result.result)
    error = json.loads(broker.hget(f"newsflow:article:{envelope.id}", "error"))
    assert error["stage"] == "ingest"
    assert "never finished" in error["reason"]
    assert not broker.exists(key)
    assert queued(broker, QUEUE_LANGUAGE) == []  # it went no further
    [(task, _)] = queued(broker, QUEUE_STORAGE)
    assert task == TASK_STORE_FAILURE


def test_finished_deliveries_leave_no_count(broker: redis.Redis) -> None:
    from services.ingest.tasks import process
    from shared.pipeline import deliveries_key

    envelope = seed_envelope()
    for _ in range(5):  # more than MAX_DELIVERIES, but each one finished
        process.apply(args=[envelope.to_message()]).get()
    assert int(broker.get(deliveries_key(envelope.id, "ingest")) or 0) == 0
    assert len(queued(broker, QUEUE_LANGUAGE)) == 5


def test_outbox_resends_a_message_lost_before_it_was_received(broker: redis.Redis) -> None:
    """Redis's BRPOP removes a message before Celery records it as unacknowledged; a Redis
    restart in between loses it. The outbox entry written at send time brings it back."""
    from services.ingest.tasks import process
    from services.ingest.worker import app
    from services.language.tasks import detect
    from shared import outbox

    envelope = seed_envelope()
    process.apply(args=[envelope.to_message()]).get()
    key = outbox.outbox_key(envelope.id, TASK_LANGUAGE)
    assert broker.exists(key)

    broker.delete(QUEUE_LANGUAGE)  # the message is lost on its way to the language stage
    assert outbox.resend_stale(app, broker, older_than_s=3600) == 0  # not overdue yet
    assert outbox.resend_stale(app, broker, older_than_s=0) == 1
    [(task, message)] = queued(broker, QUEUE_LANGUAGE)
    assert task == TASK_LANGUAGE and message["id"] == envelope.id

    detect.apply(args=[message]).get()  # received: nothing left to re-send for it
    assert not broker.exists(key)
    assert broker.exists(outbox.outbox_key(envelope.id, TASK_ENTITIES))


def test_outbox_does_not_resend_a_message_still_waiting_in_a_backlog(broker: redis.Redis) -> None:
    """A bulk import can keep messages queued for longer than VISIBILITY_TIMEOUT; those are
    not lost, and re-sending them would multiply the backlog."""
    from services.ingest.tasks import process
    from services.ingest.worker import app
    from shared import outbox

    for name in ("000_a204d967c10c7bac.txt", "002_8c30e152aa6e20cc.txt"):
        process.apply(args=[seed_envelope(name).to_message()]).get()
    assert len(queued(broker, QUEUE_LANGUAGE)) == 2
    assert outbox.resend_stale(app, broker, older_than_s=0) == 0  # overdue, but queued
    assert len(queued(broker, QUEUE_LANGUAGE)) == 2


def test_outbox_resends_a_lost_message_while_later_ones_wait(broker: redis.Redis) -> None:
    """Queues are first in, first out: a message sent before the one next in line, and not
    received, was lost (here: popped off, as BRPOP does, and never recorded)."""
    from services.ingest.tasks import process
    from services.ingest.worker import app
    from shared import outbox

    first, second = (
        seed_envelope("000_a204d967c10c7bac.txt"),
        seed_envelope("002_8c30e152aa6e20cc.txt"),
    )
    process.apply(args=[first.to_message()]).get()
    time.sleep(0.01)  # sent strictly before the second
    process.apply(args=[second.to_message()]).get()
    broker.rpop(QUEUE_LANGUAGE)  # the first one's message is gone
    [(_, waiting)] = queued(broker, QUEUE_LANGUAGE)
    assert waiting["id"] == second.id

    assert outbox.resend_stale(app, broker, older_than_s=0) == 1
    assert sorted(m["id"] for _, m in queued(broker, QUEUE_LANGUAGE)) == sorted(
        [first.id, second.id]
    )


def test_a_routed_language_goes_to_its_own_queue_and_is_resent_there(
    broker: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENTITIES_ROUTED_LANGUAGES=fr: the language stage sends French to entities.fr, the
    outbox entry keeps that queue, and the sweeper looks at and re-sends to entities.fr."""
    from services.ingest.tasks import ingest_impl
    from services.language.tasks import detect
    from services.language.worker import app
    from shared import outbox
    from shared.settings import get_settings

    monkeypatch.setenv("ENTITIES_ROUTED_LANGUAGES", "fr")
    get_settings.cache_clear()
    envelope = ingest_impl(seed_envelope())
    detect.apply(args=[envelope.to_message()]).get()

    assert queued(broker, QUEUE_ENTITIES) == []
    [(task, message)] = queued(broker, "entities.fr")
    assert task == TASK_ENTITIES and message["id"] == envelope.id
    entry = json.loads(broker.get(outbox.outbox_key(envelope.id, TASK_ENTITIES)))
    assert entry["queue"] == "entities.fr"

    # Still waiting in entities.fr: not re-sent, however overdue.
    assert outbox.resend_stale(app, broker, older_than_s=0) == 0
    broker.delete("entities.fr")  # lost on its way
    assert outbox.resend_stale(app, broker, older_than_s=0) == 1
    [(task, message)] = queued(broker, "entities.fr")
    assert task == TASK_ENTITIES and message["id"] == envelope.id
    assert queued(broker, QUEUE_ENTITIES) == []
