"""continuous-training loops

Adds ``loop_leases`` (one controller acts on a loop at a time), ``loop_triggers`` (every
trigger seen, each one an attempt with its status, so a restarted controller neither loses a
trigger nor repeats a promotion) and ``loop_events`` (every decision, with its reasons).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "loop_leases",
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("loop", sa.String(250), nullable=False),
        sa.Column("holder", sa.String(250), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("project", "loop", name=op.f("pk_loop_leases")),
    )
    op.create_table(
        "loop_triggers",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("loop", sa.String(250), nullable=False),
        sa.Column("key", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("next_try_at", TIME, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loop_triggers")),
        sa.UniqueConstraint(
            "project", "loop", "key", name=op.f("uq_loop_triggers_project_loop_key")
        ),
    )
    op.create_index(
        op.f("ix_loop_triggers_project_loop_status"),
        "loop_triggers",
        ["project", "loop", "status"],
        unique=False,
    )
    op.create_table(
        "loop_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("loop", sa.String(250), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("trigger_id", BIG_ID, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loop_events")),
    )
    op.create_index(
        op.f("ix_loop_events_project_loop_id"), "loop_events", ["project", "loop", "id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_loop_events_project_loop_id"), table_name="loop_events")
    op.drop_table("loop_events")
    op.drop_index(op.f("ix_loop_triggers_project_loop_status"), table_name="loop_triggers")
    op.drop_table("loop_triggers")
    op.drop_table("loop_leases")
