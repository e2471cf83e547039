"""Initial schema: articles, paragraphs, entities.

Hand-written to match shared/db/models.py; tests/integration/test_storage_repository.py
checks that the two agree (autogenerate finds no difference).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("raw_text", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("duplicate_of", sa.String(64), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "stored_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dateline", postgresql.JSONB(), nullable=True),
        sa.Column("removed", postgresql.JSONB(), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("language_confidence", sa.Float(), nullable=True),
        sa.Column("language_detector", sa.Text(), nullable=True),
        sa.Column("entities_status", sa.String(16), nullable=True),
        sa.Column("entities_reason", sa.Text(), nullable=True),
        sa.Column("model_name", sa.Text(), nullable=True),
        sa.Column("model_version", sa.Text(), nullable=True),
        sa.Column("entity_groups", postgresql.JSONB(none_as_null=True), nullable=True),
        sa.Column("error_stage", sa.String(32), nullable=True),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("error_attempts", sa.Integer(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_message", postgresql.JSONB(none_as_null=True), nullable=True),
        sa.Column("ts_config", sa.String(32), server_default="simple", nullable=False),
        sa.Column("search_vector", postgresql.TSVECTOR(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="articles_pkey"),
    )
    op.create_index("ix_articles_status", "articles", ["status"])
    op.create_index("ix_articles_language", "articles", ["language"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    # Keyset pagination: ORDER BY stored_at DESC, id DESC walks this index backwards.
    op.create_index("ix_articles_stored_at_id", "articles", ["stored_at", "id"])
    op.create_index(
        "ix_articles_search_vector", "articles", ["search_vector"], postgresql_using="gin"
    )

    op.create_table(
        "paragraphs",
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="paragraphs_article_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "index", name="paragraphs_pkey"),
    )
    op.create_index("ix_paragraphs_language", "paragraphs", ["language"])

    op.create_table(
        "entities",
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("model_label", sa.String(32), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="entities_article_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "position", name="entities_pkey"),
    )
    op.create_index("ix_entities_label", "entities", ["label"])
    # text_pattern_ops: lower(text) LIKE 'prefix%' can use the index under any collation.
    op.execute("CREATE INDEX ix_entities_lower_text ON entities (lower(text) text_pattern_ops)")


def downgrade() -> None:
    op.drop_table("entities")
    op.drop_table("paragraphs")
    op.drop_table("articles")
