"""soft delete of runs and datasets

Adds ``runs.deleted_at`` and ``datasets.deleted_at``: a deleted run or dataset is hidden from
lists and search but kept, with everything it refers to, until it is restored. Freeing the
objects nothing refers to any more is a later job (``tether gc``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("datasets", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("datasets", "deleted_at")
    op.drop_column("runs", "deleted_at")
