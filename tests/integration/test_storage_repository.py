"""Storage repository and migrations against a real PostgreSQL."""

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from services.gateway.queries import count_article_rows
from services.storage import migrate
from services.storage.repository import store_failure, upsert_article
from shared.db.models import Base
from shared.db.session import make_engine
from shared.envelope import (
    ArticleEnvelope,
    ArticleInput,
    CleanArticle,
    Dateline,
    EntitiesResult,
    Entity,
    EntityGroup,
    LanguageResult,
    Paragraph,
    ParagraphLanguage,
    Removed,
    Span,
)
from tests.integration.conftest import store

pytestmark = pytest.mark.integration

BOILERPLATE = "Alpha-News.org ➤ L'actualité du monde est ici"

KREMLIN_TITLE = "Le Kremlin affirme que la Russie possède de nombreuses terres rares"
KREMLIN_PARAGRAPHS = [
    "MOSCOU, 25 février (Reuters) - Le Kremlin a déclaré mardi que la Russie disposait de "
    "nombreuses réserves de terres rares et qu'elle était ouverte à conclure des accords.",
    '"Les Américains ont besoin de terres rares. Nous en avons beaucoup", a déclaré le '
    "porte-parole du Kremlin, Dmitri Peskov.",
    "Le président américain Donald Trump a promis des transactions majeures avec la Russie.",
]
KREMLIN_ENTITIES = [
    ("MOSCOU", "LOC", "LOC"),
    ("Reuters", "ORG", "ORG"),
    ("Kremlin", "ORG", "ORG"),
    ("Russie", "LOC", "LOC"),
    ("Dmitri Peskov", "PER", "PER"),
    ("Donald Trump", "PER", "PER"),
]


def make_envelope(
    article_id: str,
    *,
    title: str | None = KREMLIN_TITLE,
    paragraphs: list[str] | None = None,
    entities: list[tuple[str, str, str]] | None = None,
    language: str | None = "fr",
    paragraph_languages: list[str] | None = None,
    received_at: datetime | None = None,
    dateline: Dateline | None = None,
    **input_fields: Any,
) -> ArticleEnvelope:
    """A fully processed envelope, as the entities stage hands it to storage."""
    paragraphs = KREMLIN_PARAGRAPHS if paragraphs is None else paragraphs
    entities = KREMLIN_ENTITIES if entities is None else entities
    body = "\n\n".join(paragraphs)
    raw = f"{BOILERPLATE}\n{title or ''}\n\n{body}"

    spans, offset = [], 0
    for index, para in enumerate(paragraphs):
        spans.append(Paragraph(index=index, start=offset, end=offset + len(para)))
        offset += len(para) + 2

    found: list[Entity] = []
    for ent_text, label, model_label in entities:
        start = body.find(ent_text)
        start = max(start, 0)
        found.append(
            Entity(
                text=ent_text,
                label=label,
                model_label=model_label,
                start=start,
                end=start + len(ent_text),
            )
        )

    langs = paragraph_languages or [language or "und"] * len(paragraphs)
    lang_result = (
        LanguageResult(
            code=language,
            confidence=0.97,
            detector="langdetect-1.0.9",
            paragraphs=[
                ParagraphLanguage(index=i, code=code, confidence=0.9 - i / 100)
                for i, code in enumerate(langs)
            ],
        )
        if language is not None
        else None
    )
    return ArticleEnvelope(
        id=article_id,
        received_at=received_at or datetime(2025, 2, 25, 9, 30, tzinfo=UTC),
        input=ArticleInput(
            text=raw,
            title=title,
            url=input_fields.get("url", f"https://alpha-news.org/{article_id}"),
            source=input_fields.get("source", "Alpha-News.org"),
            published_at=input_fields.get("published_at", datetime(2025, 2, 25, 8, 0, tzinfo=UTC)),
            external_id=input_fields.get("external_id"),
        ),
        clean=CleanArticle(
            title=title,
            text=body,
            paragraphs=spans,
            dateline=dateline,
            removed=[
                Removed(start=0, end=len(BOILERPLATE), text=BOILERPLATE, reason="site_banner")
            ],
            content_hash=hashlib.sha256(body.encode()).hexdigest(),
        ),
        language=lang_result,
        entities=EntitiesResult(
            status="extracted",
            model="fr_core_news_md",
            model_version="3.8.0",
            entities=found,
            groups=[
                EntityGroup(
                    name=e.text,
                    label=e.label,
                    count=1,
                    salience=round(1 / len(found), 4),
                    first_start=e.start,
                    mentions=[Span(start=e.start, end=e.end)],
                )
                for e in found
            ],
        ),
    )


MOSCOW_DATELINE = Dateline(
    place="MOSCOU", date="25 février", agency="Reuters", place_start=0, place_end=6
)


def fail(
    sessions: sessionmaker[Session], article_id: str, stage: str, reason: str, message: Any
) -> None:
    with sessions.begin() as session:
        store_failure(session, article_id, stage, reason, message)


def article_row(sessions: sessionmaker[Session], article_id: str) -> dict[str, Any]:
    with sessions() as session:
        return dict(
            session.execute(text("SELECT * FROM articles WHERE id = :id"), {"id": article_id})
            .mappings()
            .one()
        )


def child_rows(sessions: sessionmaker[Session], article_id: str) -> tuple[list[Any], list[Any]]:
    with sessions() as session:
        paragraphs = session.execute(
            text(
                'SELECT index, start, "end", language, confidence FROM paragraphs '
                "WHERE article_id = :id ORDER BY index"
            ),
            {"id": article_id},
        ).all()
        entities = session.execute(
            text(
                'SELECT position, text, label, model_label, start, "end" FROM entities '
                "WHERE article_id = :id ORDER BY position"
            ),
            {"id": article_id},
        ).all()
    return [tuple(r) for r in paragraphs], [tuple(r) for r in entities]


# --- upsert_article -------------------------------------------------------------------


def test_upsert_writes_article_paragraphs_and_entities(sessions: sessionmaker[Session]) -> None:
    env = make_envelope("a1", dateline=MOSCOW_DATELINE, external_id="reuters-123")
    store(sessions, env)

    row = article_row(sessions, "a1")
    assert row["status"] == "stored"
    assert row["schema_version"] == 1
    assert row["title"] == KREMLIN_TITLE
    assert row["text"] == env.clean.text  # type: ignore[union-attr]
    assert row["raw_text"] == env.input.text
    assert row["raw_text"].startswith(BOILERPLATE)
    assert row["content_hash"] == env.clean.content_hash  # type: ignore[union-attr]
    assert row["external_id"] == "reuters-123"
    assert row["url"] == "https://alpha-news.org/a1"
    assert row["source"] == "Alpha-News.org"
    assert row["published_at"] == datetime(2025, 2, 25, 8, 0, tzinfo=UTC)
    assert row["received_at"] == datetime(2025, 2, 25, 9, 30, tzinfo=UTC)
    assert row["stored_at"] is not None
    assert row["dateline"] == MOSCOW_DATELINE.model_dump()
    assert row["removed"] == [
        {"start": 0, "end": len(BOILERPLATE), "text": BOILERPLATE, "reason": "site_banner"}
    ]
    assert (row["language"], row["language_confidence"], row["language_detector"]) == (
        "fr",
        0.97,
        "langdetect-1.0.9",
    )
    assert (row["entities_status"], row["entities_reason"]) == ("extracted", None)
    assert (row["model_name"], row["model_version"]) == ("fr_core_news_md", "3.8.0")
    assert (row["error_stage"], row["error_reason"]) == (None, None)
    assert row["ts_config"] == "french"
    assert row["entity_groups"] == [
        g.model_dump(mode="json")
        for g in env.entities.groups  # type: ignore[union-attr]
    ]
    assert row["entity_groups"][0]["mentions"] == [
        {"start": env.entities.entities[0].start, "end": env.entities.entities[0].end}  # type: ignore[union-attr]
    ]

    paragraphs, entities = child_rows(sessions, "a1")
    assert [p[:4] for p in paragraphs] == [
        (p.index, p.start, p.end, "fr")
        for p in env.clean.paragraphs  # type: ignore[union-attr]
    ]
    assert [p[4] for p in paragraphs] == pytest.approx([0.9, 0.89, 0.88])
    assert entities == [
        (i, e.text, e.label, e.model_label, e.start, e.end)
        for i, e in enumerate(env.entities.entities)  # type: ignore[union-attr]
    ]
    body = env.clean.text  # type: ignore[union-attr]
    for _, ent_text, _, _, start, end in entities:
        assert body[start:end] == ent_text


def test_upsert_twice_leaves_one_row_and_same_children(sessions: sessionmaker[Session]) -> None:
    env = make_envelope("a1", dateline=MOSCOW_DATELINE)
    store(sessions, env)
    first_row, first_children = article_row(sessions, "a1"), child_rows(sessions, "a1")

    store(sessions, env)  # redelivery

    with sessions() as session:
        assert count_article_rows(session, "a1") == 1
        assert session.scalar(text("SELECT count(*) FROM entities")) == len(KREMLIN_ENTITIES)
        assert session.scalar(text("SELECT count(*) FROM paragraphs")) == 3
    assert child_rows(sessions, "a1") == first_children
    second_row = article_row(sessions, "a1")
    # Same row, down to the storage time: pagination does not move on redelivery.
    assert second_row == first_row


def test_changed_content_replaces_children(sessions: sessionmaker[Session]) -> None:
    store(sessions, make_envelope("a1"))
    updated = make_envelope(
        "a1",
        title="Washington répond au Kremlin",
        paragraphs=[
            "WASHINGTON - La Maison Blanche a accueilli avec prudence les propos de Moscou.",
            "Le département d'État étudiera toute proposition concrète.",
        ],
        entities=[("WASHINGTON", "LOC", "LOC"), ("Maison Blanche", "ORG", "ORG")],
        paragraph_languages=["fr", "und"],
    )
    store(sessions, updated)

    paragraphs, entities = child_rows(sessions, "a1")
    spans = updated.clean.paragraphs  # type: ignore[union-attr]
    assert [p[:4] for p in paragraphs] == [
        (0, 0, spans[0].end, "fr"),
        (1, spans[0].end + 2, spans[1].end, "und"),
    ]
    assert [e[1:3] for e in entities] == [("WASHINGTON", "LOC"), ("Maison Blanche", "ORG")]
    row = article_row(sessions, "a1")
    assert row["title"] == "Washington répond au Kremlin"
    assert row["content_hash"] == updated.clean.content_hash  # type: ignore[union-attr]
    with sessions() as session:
        matches = session.scalar(
            text(
                "SELECT count(*) FROM articles "
                "WHERE search_vector @@ websearch_to_tsquery('french', :q)"
            ),
            {"q": "terres rares"},
        )
    assert matches == 0  # the old text is no longer searchable


def test_paragraph_without_language_result_gets_null_language(
    sessions: sessionmaker[Session],
) -> None:
    env = make_envelope("a1")
    assert env.language is not None
    env.language.paragraphs = env.language.paragraphs[:1]  # detector skipped the others
    store(sessions, env)
    paragraphs, _ = child_rows(sessions, "a1")
    assert [p[3] for p in paragraphs] == ["fr", None, None]


def test_search_vector_uses_language_stemming(sessions: sessionmaker[Session]) -> None:
    store(sessions, make_envelope("fr1"))
    store(sessions, make_envelope("und1", language="und"))
    store(sessions, make_envelope("none1", language=None))
    with sessions() as session:
        configs = {
            r.id: r.ts_config for r in session.execute(text("SELECT id, ts_config FROM articles"))
        }
        vector = session.scalar(text("SELECT search_vector::text FROM articles WHERE id = 'fr1'"))
        stemmed = session.scalar(
            text(
                "SELECT count(*) FROM articles WHERE id = 'fr1' "
                "AND search_vector @@ websearch_to_tsquery('french', 'terre')"
            )
        )
    assert configs == {"fr1": "french", "und1": "simple", "none1": "simple"}
    assert "'terr'" in vector  # "terres" stemmed; title words are indexed too
    assert "'kremlin'" in vector
    assert stemmed == 1


def test_und_language_keeps_its_reason(sessions: sessionmaker[Session]) -> None:
    from services.gateway.queries import get_article

    envelope = make_envelope("und-reason", language="und")
    assert envelope.language is not None
    envelope.language.reason = "unknown_language:closest=so"
    store(sessions, envelope)
    store(sessions, make_envelope("named"))
    with sessions() as session:
        und = get_article(session, "und-reason")
        named = get_article(session, "named")
    assert und is not None and named is not None
    assert und.language is not None and named.language is not None
    assert (und.language.code, und.language.reason) == ("und", "unknown_language:closest=so")
    assert named.language.reason is None


def test_upsert_without_optional_sections(sessions: sessionmaker[Session]) -> None:
    env = make_envelope("a1", title=None, entities=[], language=None)
    env.entities = EntitiesResult(status="skipped", reason="language 'und' has no model")
    store(sessions, env)
    row = article_row(sessions, "a1")
    assert row["title"] is None
    assert row["language"] is None
    assert row["dateline"] is None  # SQL NULL, not JSON null
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM articles WHERE dateline IS NULL")) == 1
    assert (row["entities_status"], row["entities_reason"]) == (
        "skipped",
        "language 'und' has no model",
    )
    assert row["model_name"] is None
    paragraphs, entities = child_rows(sessions, "a1")
    assert [p[3] for p in paragraphs] == [None, None, None]
    assert entities == []


def test_upsert_without_clean_section_is_refused(sessions: sessionmaker[Session]) -> None:
    env = make_envelope("a1")
    env.clean = None
    with pytest.raises(ValueError, match="clean"), sessions.begin() as session:
        upsert_article(session, env)


def test_concurrent_redeliveries_converge(sessions: sessionmaker[Session]) -> None:
    env = make_envelope("a1", dateline=MOSCOW_DATELINE)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            for _ in range(5):
                store(sessions, env)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sessions() as session:
        assert count_article_rows(session, "a1") == 1
    paragraphs, entities = child_rows(sessions, "a1")
    assert (len(paragraphs), len(entities)) == (3, len(KREMLIN_ENTITIES))


# --- store_failure --------------------------------------------------------------------


def test_store_failure_records_failed_article(sessions: sessionmaker[Session]) -> None:
    message = make_envelope("a1", external_id="reuters-9").to_message()
    message["clean"] = message["language"] = message["entities"] = None
    fail(sessions, "a1", "language", "LangDetectException: No features in text.", message)

    row = article_row(sessions, "a1")
    assert row["status"] == "failed"
    assert (row["error_stage"], row["error_reason"]) == (
        "language",
        "LangDetectException: No features in text.",
    )
    assert row["title"] == KREMLIN_TITLE
    assert row["raw_text"].startswith(BOILERPLATE)
    assert row["text"] is None
    assert (row["url"], row["source"], row["external_id"]) == (
        "https://alpha-news.org/a1",
        "Alpha-News.org",
        "reuters-9",
    )
    assert row["published_at"] == datetime(2025, 2, 25, 8, 0, tzinfo=UTC)
    assert row["received_at"] == datetime(2025, 2, 25, 9, 30, tzinfo=UTC)
    assert row["search_vector"] is None
    assert child_rows(sessions, "a1") == ([], [])
    # Kept whole for a re-drive from the failing stage.
    assert row["failed_message"] == message
    assert row["last_error_at"] is not None


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"id": "a1", "input": "not a dict", "received_at": "yesterday", "schema_version": "one"},
        {"input": {"text": 42, "title": ["x"], "published_at": "25/02/2025", "url": None}},
        {"input": {"text": "nul\x00byte", "title": "ok"}, "received_at": "2025-02-25T09:30:00"},
    ],
)
def test_store_failure_tolerates_partial_messages(
    sessions: sessionmaker[Session], message: dict[str, Any]
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    fail(sessions, "a1", "ingest", "ValidationError: input.text", message)
    row = article_row(sessions, "a1")
    assert row["status"] == "failed"
    assert row["schema_version"] == 1
    assert row["error_stage"] == "ingest"
    if "nul" in str(message):
        assert row["raw_text"] == "nulbyte"
        assert row["received_at"] == datetime(2025, 2, 25, 9, 30, tzinfo=UTC)  # naive = UTC
    else:
        assert row["raw_text"] is None
        assert row["received_at"] >= before  # fell back to now()
    assert row["published_at"] is None


def test_failure_again_updates_the_failed_row(sessions: sessionmaker[Session]) -> None:
    fail(sessions, "a1", "language", "first", {})
    fail(sessions, "a1", "entities", "second", {})
    row = article_row(sessions, "a1")
    assert (row["status"], row["error_stage"], row["error_reason"]) == (
        "failed",
        "entities",
        "second",
    )
    with sessions() as session:
        assert count_article_rows(session, "a1") == 1


def test_stale_failure_does_not_overwrite_stored_article(sessions: sessionmaker[Session]) -> None:
    env = make_envelope("a1")
    store(sessions, env)
    stored_row, stored_children = article_row(sessions, "a1"), child_rows(sessions, "a1")

    fail(sessions, "a1", "entities", "TimeoutError: stale copy", env.to_message())

    assert article_row(sessions, "a1") == stored_row
    assert child_rows(sessions, "a1") == stored_children


def test_success_after_failure_clears_the_error(sessions: sessionmaker[Session]) -> None:
    fail(sessions, "a1", "entities", "OSError: model missing", make_envelope("a1").to_message())
    store(sessions, make_envelope("a1"))
    row = article_row(sessions, "a1")
    assert row["status"] == "stored"
    assert (row["error_stage"], row["error_reason"]) == (None, None)
    assert child_rows(sessions, "a1")[1] != []


# --- migrations -----------------------------------------------------------------------


def test_models_and_migration_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, Base.metadata)
        indexes = {
            name: definition
            for name, definition in conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            ).all()
        }
    assert diff == []
    # Details autogenerate does not compare: the index method and operator class.
    assert "USING gin (search_vector)" in indexes["ix_articles_search_vector"]
    assert "lower(text) text_pattern_ops" in indexes["ix_entities_lower_text"]
    assert "(stored_at, id)" in indexes["ix_articles_stored_at_id"]
    for name in (
        "ix_articles_language",
        "ix_articles_status",
        "ix_paragraphs_language",
        "ix_entities_label",
        "ix_webhook_deliveries_webhook_created",
        "ix_webhook_deliveries_status_next",
    ):
        assert name in indexes


def _head() -> str | None:
    return ScriptDirectory.from_config(
        migrate.alembic_config("postgresql://unused")
    ).get_current_head()


def _version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def test_upgrade_again_is_a_no_op(
    pg_url: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    store(sessions, make_envelope("a1"))
    migrate.upgrade(pg_url)
    migrate.upgrade(pg_url)
    assert _version(engine) == _head() == "0003"
    with sessions() as session:
        assert count_article_rows(session, "a1") == 1
        # The lock is released once upgrade() returns.
        assert (
            session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")) == 0
        )


def test_upgrade_waits_for_the_advisory_lock(pg_url: str, engine: Engine) -> None:
    done = threading.Event()
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": migrate.MIGRATION_LOCK_KEY})

        def replica() -> None:
            migrate.upgrade(pg_url)
            done.set()

        worker = threading.Thread(target=replica)
        worker.start()
        time.sleep(1.0)
        assert not done.is_set()  # blocked behind the other "replica"
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": migrate.MIGRATION_LOCK_KEY})
        holder.commit()
    worker.join(timeout=30)
    assert done.is_set()


@pytest.fixture()
def fresh_db_url(pg_url: str) -> Iterator[str]:
    """A second, empty database on the same server, for concurrent first-time upgrades."""
    url = make_url(pg_url)
    name = f"{url.database}_migrate"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.errors.InsufficientPrivilege:
        pytest.skip("the test role may not create databases")
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_concurrent_first_upgrades_do_not_race(fresh_db_url: str) -> None:
    errors: list[BaseException] = []

    def replica() -> None:
        try:
            migrate.upgrade(fresh_db_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    eng = make_engine(fresh_db_url)
    try:
        assert _version(eng) == "0003"
        with eng.connect() as conn:
            tables = set(
                conn.scalars(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).all()
            )
        assert tables == {
            "alembic_version",
            "articles",
            "paragraphs",
            "entities",
            "webhooks",
            "webhook_deliveries",
        }
    finally:
        eng.dispose()


def test_downgrade_then_upgrade_round_trips(fresh_db_url: str) -> None:
    from alembic import command

    migrate.upgrade(fresh_db_url)
    eng = make_engine(fresh_db_url)
    try:
        with eng.connect() as conn:
            cfg = migrate.alembic_config(fresh_db_url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            conn.commit()
            assert conn.scalar(text("SELECT to_regclass('articles')")) is None
        migrate.upgrade(fresh_db_url)
        assert _version(eng) == "0003"
    finally:
        eng.dispose()
