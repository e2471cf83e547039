"""Writes to PostgreSQL. The storage worker is the only writer, and every write is an upsert
keyed by article id, so a redelivered task (acks_late) converges to the same rows.

Functions run inside the caller's transaction and never commit: wrap each call in
`with sessions.begin() as session:` so the article row and its children change together.
"""

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, case, cast, delete, func, insert, literal
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.db.models import Article, EntityRow, ParagraphRow, ts_config_for
from shared.envelope import SCHEMA_VERSION, ArticleEnvelope, Status

_ARTICLES = Article.__table__


def _search_vector(ts_config: str, title: str | None, text: str | None) -> Any:
    """to_tsvector computed by PostgreSQL, with the stemming of the article's language."""
    document = (
        func.coalesce(literal(title, String), "") + " " + func.coalesce(literal(text, String), "")
    )
    return func.to_tsvector(cast(literal(ts_config, String), REGCONFIG), document)


def upsert_article(session: Session, envelope: ArticleEnvelope) -> None:
    """Insert or replace a fully processed article with its paragraphs and entities."""
    clean = envelope.clean
    if clean is None:
        raise ValueError("envelope has no clean section: ingest has not run")
    source = envelope.input
    language = envelope.language
    entities = envelope.entities
    ts_config = ts_config_for(language.code if language else None)

    values: dict[str, Any] = {
        "id": envelope.id,
        "status": Status.STORED.value,
        "schema_version": envelope.schema_version,
        "title": clean.title,
        "text": clean.text,
        # PostgreSQL text cannot hold NUL; the raw text is kept for reference only.
        "raw_text": source.text.replace("\x00", ""),
        "content_hash": clean.content_hash,
        "duplicate_of": clean.duplicate_of,
        "external_id": source.external_id,
        "url": source.url,
        "source": source.source,
        "published_at": source.published_at,
        "received_at": envelope.received_at,
        "dateline": clean.dateline.model_dump(mode="json") if clean.dateline else None,
        "removed": [r.model_dump(mode="json") for r in clean.removed],
        "language": language.code if language else None,
        "language_confidence": language.confidence if language else None,
        "language_detector": language.detector if language else None,
        "language_reason": language.reason if language else None,
        "entities_status": entities.status if entities else None,
        "entities_reason": entities.reason if entities else None,
        "model_name": entities.model if entities else None,
        "model_version": entities.model_version if entities else None,
        "entity_groups": (
            [g.model_dump(mode="json") for g in entities.groups] if entities else None
        ),
        "error_stage": None,
        "error_reason": None,
        "error_attempts": None,
        "last_error_at": None,
        "failed_message": None,
        "ts_config": ts_config,
        "search_vector": _search_vector(ts_config, clean.title, clean.text),
    }
    stmt = pg_insert(Article).values(values)
    updates: dict[str, Any] = {name: stmt.excluded[name] for name in values if name != "id"}
    # A redelivery keeps the first storage time (stable pagination); a stored article
    # that had failed before gets the time it was finally stored.
    updates["stored_at"] = case(
        (_ARTICLES.c.status == Status.STORED.value, _ARTICLES.c.stored_at), else_=func.now()
    )
    # The upsert locks the article row first, so concurrent deliveries of one article
    # serialise here and the delete + insert below never interleave.
    session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=updates))

    session.execute(delete(ParagraphRow).where(ParagraphRow.article_id == envelope.id))
    session.execute(delete(EntityRow).where(EntityRow.article_id == envelope.id))

    by_index = {p.index: p for p in language.paragraphs} if language else {}
    paragraphs = [
        {
            "article_id": envelope.id,
            "index": p.index,
            "start": p.start,
            "end": p.end,
            "language": by_index[p.index].code if p.index in by_index else None,
            "confidence": by_index[p.index].confidence if p.index in by_index else None,
        }
        for p in clean.paragraphs
    ]
    if paragraphs:
        session.execute(insert(ParagraphRow), paragraphs)

    rows = [
        {
            "article_id": envelope.id,
            "position": position,
            "text": e.text,
            "label": e.label,
            "model_label": e.model_label,
            "start": e.start,
            "end": e.end,
        }
        for position, e in enumerate(entities.entities if entities else [])
    ]
    if rows:
        session.execute(insert(EntityRow), rows)


def _json_safe(message: dict[str, Any]) -> dict[str, Any] | None:
    """The message as JSONB can hold it (no NUL characters anywhere), or None."""
    try:
        cleaned: dict[str, Any] = json.loads(
            json.dumps(message, default=str).replace("\\u0000", "")
        )
        return cleaned
    except (TypeError, ValueError):
        return None


def _str(value: object) -> str | None:
    """A string field from an untrusted message: anything else counts as missing."""
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "")


def _datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    # A naive timestamp is taken as UTC rather than the database session's time zone.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def store_failure(
    session: Session,
    article_id: str,
    stage: str,
    reason: str,
    message: dict[str, Any],
    attempts: int | None = None,
    failed_at: datetime | None = None,
) -> None:
    """Record an article that failed at `stage`, unless it has been stored since.

    `message` is the envelope as the failing stage received it; it may be partial or
    invalid (that may be why it failed), so every field is optional here.
    """
    if not isinstance(message, dict):
        message = {}
    source = message.get("input")
    if not isinstance(source, dict):
        source = {}
    schema_version = message.get("schema_version")
    values: dict[str, Any] = {
        "id": article_id,
        "status": Status.FAILED.value,
        "schema_version": (
            schema_version
            if isinstance(schema_version, int) and not isinstance(schema_version, bool)
            else SCHEMA_VERSION
        ),
        "title": _str(source.get("title")),
        "raw_text": _str(source.get("text")),
        "external_id": _str(source.get("external_id")),
        "url": _str(source.get("url")),
        "source": _str(source.get("source")),
        "published_at": _datetime(source.get("published_at")),
        "received_at": _datetime(message.get("received_at")) or datetime.now(UTC),
        "error_stage": stage[:32],
        "error_reason": reason.replace("\x00", ""),
        "error_attempts": attempts,
        "last_error_at": failed_at or datetime.now(UTC),
        # Kept whole so the article can be re-driven from the stage that failed.
        "failed_message": _json_safe(message),
    }
    stmt = pg_insert(Article).values(values)
    updates: dict[str, Any] = {name: stmt.excluded[name] for name in values if name != "id"}
    updates["stored_at"] = func.now()
    # A late failure (e.g. a redelivered copy that failed after another copy was stored)
    # must not hide the stored result: the WHERE turns the update into a no-op.
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_=updates,
            where=_ARTICLES.c.status != Status.STORED.value,
        )
    )
