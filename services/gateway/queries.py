"""Read-only queries behind the API, answering its response models (schemas.py).

The gateway never writes to PostgreSQL."""

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session, selectinload

from services.gateway.schemas import Article as ArticleOut
from services.gateway.schemas import (
    ArticleDateline,
    ArticleEntity,
    ArticleEntityGroup,
    ArticleLanguage,
    ArticleMetadata,
    ArticleSummary,
    EntityCount,
    Failure,
    ModelInfo,
    ParagraphLanguageOut,
    RemovedText,
)
from shared.db.models import Article, EntityRow, ts_config_for
from shared.envelope import Status


def _error(row: Any) -> Failure | None:
    """The failure of an article row (or a selected row with the same columns), if any."""
    if not (row.error_stage or row.error_reason):
        return None
    return Failure(
        stage=row.error_stage,
        reason=row.error_reason,
        attempts=row.error_attempts,
        last_error_at=row.last_error_at,
    )


def get_article(session: Session, article_id: str) -> ArticleOut | None:
    article = session.scalars(
        select(Article)
        .where(Article.id == article_id)
        .options(selectinload(Article.paragraphs), selectinload(Article.entities))
        # A reused session must not serve a stale copy from its identity map.
        .execution_options(populate_existing=True)
    ).one_or_none()
    if article is None:
        return None

    language = None
    if article.language is not None:
        language = ArticleLanguage(
            code=article.language,
            confidence=article.language_confidence,
            detector=article.language_detector,
            reason=article.language_reason,
            paragraphs=[
                ParagraphLanguageOut(
                    index=p.index,
                    code=p.language,
                    confidence=p.confidence,
                    start=p.start,
                    end=p.end,
                )
                for p in article.paragraphs
            ],
        )
    return ArticleOut(
        id=article.id,
        status=article.status,
        title=article.title,
        text=article.text,
        metadata=ArticleMetadata(
            source=article.source,
            url=article.url,
            external_id=article.external_id,
            published_at=article.published_at,
            received_at=article.received_at,
            stored_at=article.stored_at,
            content_hash=article.content_hash,
            duplicate_of=article.duplicate_of,
            dateline=(
                ArticleDateline.model_validate(article.dateline) if article.dateline else None
            ),
            removed=[RemovedText.model_validate(r) for r in article.removed or []],
        ),
        language=language,
        entities=[
            ArticleEntity(
                text=e.text, label=e.label, model_label=e.model_label, start=e.start, end=e.end
            )
            for e in article.entities
        ],
        entity_groups=[ArticleEntityGroup.model_validate(g) for g in article.entity_groups or []],
        entities_status=article.entities_status,
        entities_reason=article.entities_reason,
        model=(
            ModelInfo(name=article.model_name, version=article.model_version)
            if article.model_name
            else None
        ),
        error=_error(article),
    )


def encode_cursor(stored_at: datetime, article_id: str) -> str:
    raw = json.dumps([stored_at.isoformat(), article_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (stored_at, id) a page ended on; ValueError if the cursor was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        stored_at_raw, article_id = payload
        if not isinstance(stored_at_raw, str) or not isinstance(article_id, str):
            raise ValueError("wrong types")
        stored_at = datetime.fromisoformat(stored_at_raw)
    except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
        raise ValueError("malformed cursor") from exc
    if stored_at.tzinfo is None:
        raise ValueError("malformed cursor")
    return stored_at, article_id


def _search_condition(q: str, language: str | None) -> ColumnElement[bool]:
    if language is not None:
        # All articles of one language share its config: a constant query can use the GIN index.
        config: Any = cast(ts_config_for(language), REGCONFIG)
    else:
        # Each article is matched with the stemming it was indexed with; articles of
        # undetected languages have ts_config 'simple', so plain words still match them.
        config = cast(Article.ts_config, REGCONFIG)
    return Article.search_vector.bool_op("@@")(func.websearch_to_tsquery(config, q))


def list_articles(
    session: Session,
    *,
    language: str | None = None,
    entity: str | None = None,
    label: str | None = None,
    q: str | None = None,
    status: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[list[ArticleSummary], str | None]:
    """Article summaries, newest first, and the cursor of the next page (None on the last)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    after = decode_cursor(cursor) if cursor is not None else None

    entity_count = (
        select(func.count())
        .where(EntityRow.article_id == Article.id)
        .correlate(Article)
        .scalar_subquery()
    )
    stmt = select(
        Article.id,
        Article.status,
        Article.title,
        Article.source,
        Article.language,
        Article.stored_at,
        Article.error_stage,
        Article.error_reason,
        Article.error_attempts,
        Article.last_error_at,
        entity_count.label("entity_count"),
    )
    if language is not None:
        stmt = stmt.where(Article.language == language)
    if status is not None:
        stmt = stmt.where(Article.status == status)
    if entity is not None or label is not None:
        # One EXISTS: entity and label must hold for the same entity row.
        match = [EntityRow.article_id == Article.id]
        if entity is not None:
            match.append(func.lower(EntityRow.text) == func.lower(cast(entity, String)))
        if label is not None:
            match.append(EntityRow.label == label)
        stmt = stmt.where(exists().where(and_(*match)))
    if q is not None and q.strip():
        stmt = stmt.where(_search_condition(q, language))
    if after is not None:
        after_stored_at, after_id = after
        stmt = stmt.where(
            tuple_(Article.stored_at, Article.id)
            < tuple_(literal(after_stored_at, DateTime(timezone=True)), literal(after_id, String))
        )
    stmt = stmt.order_by(Article.stored_at.desc(), Article.id.desc()).limit(limit + 1)

    rows = session.execute(stmt).all()
    page = rows[:limit]
    items = [
        ArticleSummary(
            id=r.id,
            status=r.status,
            title=r.title,
            source=r.source,
            language=r.language,
            stored_at=r.stored_at,
            entity_count=r.entity_count,
            error=_error(r),
        )
        for r in page
    ]
    next_cursor = encode_cursor(page[-1].stored_at, page[-1].id) if len(rows) > limit else None
    return items, next_cursor


def _like_prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def list_entities(
    session: Session, *, label: str | None = None, q: str | None = None, limit: int = 50
) -> list[EntityCount]:
    """Distinct (text, label) pairs over stored articles, most mentioned first."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    article_count = func.count(EntityRow.article_id.distinct())
    stmt = (
        select(EntityRow.text, EntityRow.label, article_count.label("article_count"))
        .join(Article, Article.id == EntityRow.article_id)
        .where(Article.status == Status.STORED.value)
        .group_by(EntityRow.text, EntityRow.label)
        .order_by(article_count.desc(), EntityRow.text, EntityRow.label)
        .limit(limit)
    )
    if label is not None:
        stmt = stmt.where(EntityRow.label == label)
    if q:
        # lower() in SQL on both sides, so the case folding matches the index expression.
        stmt = stmt.where(
            func.lower(EntityRow.text).like(func.lower(cast(_like_prefix(q), String)), escape="\\")
        )
    return [
        EntityCount(text=r.text, label=r.label, article_count=r.article_count)
        for r in session.execute(stmt)
    ]


def count_article_rows(session: Session, article_id: str) -> int:
    return session.scalar(select(func.count()).where(Article.id == article_id)) or 0
