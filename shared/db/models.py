"""SQLAlchemy 2 tables. Migrations live in services/storage/migrations (Alembic)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


# PostgreSQL text-search configurations for the languages Newsflow detects;
# anything else is indexed with 'simple' (no stemming, no stop words).
TS_CONFIGS: dict[str, str] = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}


def ts_config_for(language: str | None) -> str:
    return TS_CONFIGS.get(language or "", "simple")


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    schema_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    raw_text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # none_as_null: Python None must be SQL NULL, not the JSON literal 'null'.
    dateline: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    removed: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    language: Mapped[str | None] = mapped_column(String(8), index=True)
    language_confidence: Mapped[float | None] = mapped_column(Float)
    language_detector: Mapped[str | None] = mapped_column(Text)
    language_reason: Mapped[str | None] = mapped_column(Text)
    entities_status: Mapped[str | None] = mapped_column(String(16))
    entities_reason: Mapped[str | None] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(Text)
    # Entities grouped per document (canonical name, label, count, salience, mentions).
    entity_groups: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    error_stage: Mapped[str | None] = mapped_column(String(32))
    error_reason: Mapped[str | None] = mapped_column(Text)
    # Failure details: how many attempts the failing stage made, when it last failed,
    # and the message it was given, so an operator can re-drive it from that stage.
    error_attempts: Mapped[int | None] = mapped_column(Integer)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_message: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    ts_config: Mapped[str] = mapped_column(String(32), server_default="simple")
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, nullable=True)

    paragraphs: Mapped[list["ParagraphRow"]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="ParagraphRow.index"
    )
    entities: Mapped[list["EntityRow"]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="EntityRow.position"
    )

    __table_args__ = (
        Index("ix_articles_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_articles_stored_at_id", "stored_at", "id"),
    )


class ParagraphRow(Base):
    __tablename__ = "paragraphs"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(8), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)

    article: Mapped[Article] = relationship(back_populates="paragraphs")


class EntityRow(Base):
    __tablename__ = "entities"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(8), index=True)
    model_label: Mapped[str] = mapped_column(String(32))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)

    article: Mapped[Article] = relationship(back_populates="entities")

    __table_args__ = (
        # Case-insensitive entity search: WHERE lower(text) = lower(:q) or LIKE 'q%'.
        # text_pattern_ops makes prefix LIKE indexable whatever the database collation;
        # SQLAlchemy applies postgresql_ops to an expression only through its label.
        Index(
            "ix_entities_lower_text",
            func.lower(text).label("lower_text"),
            postgresql_ops={"lower_text": "text_pattern_ops"},
        ),
    )


class Webhook(Base):
    """A registered receiver: POST /webhooks (the gateway writes these rows)."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # The final statuses it wants: stored, failed.
    events: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    # The HMAC key of its signatures. Kept as given (signing needs it), never shown again.
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookDelivery(Base):
    """One event for one webhook, and how its delivery went (the webhooks worker writes
    these rows). One per (webhook, event): a redelivered event makes no second delivery."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(48))
    event: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[str] = mapped_column(String(64))
    # What is POSTed (serialised and signed afresh at each attempt).
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # pending (no attempt yet), retrying, delivered, failed (attempts exhausted).
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
        # GET /webhooks/{id}/deliveries, newest first.
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
        # The sweeper: unfinished deliveries whose next attempt is overdue.
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )
