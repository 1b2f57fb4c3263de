"""reference profiles

Adds ``reference_profiles``: the monitoring reference profile of a dataset version's content
(its tree digest), per profile format, as the digest of an object in the object store, so that
it is computed once and every later window, on any machine sharing the stores, reads it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_profiles",
        sa.Column("tree_digest", sa.String(128), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_digest", "format", name=op.f("pk_reference_profiles")),
    )


def downgrade() -> None:
    op.drop_table("reference_profiles")
