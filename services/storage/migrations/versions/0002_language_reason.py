"""articles.language_reason: why the language is "und" (null when a language was named).

Hand-written to match shared/db/models.py, like 0001.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("language_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("articles", "language_reason")
