"""run search and heartbeats

Adds ``runs.heartbeat_at`` (a live run's last sign of life), ``params.value_num`` (the value as
a number where it is one, so that ``params.lr > 0.01`` compares numbers in SQL; filled in for
existing rows) and an index to find runs by what they read or wrote.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def upgrade() -> None:
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("params", sa.Column("value_num", sa.Float(), nullable=True))
    op.create_index(op.f("ix_run_io_kind_ref"), "run_io", ["kind", "ref"], unique=False)
    op.create_index(op.f("ix_params_key_value_num"), "params", ["key", "value_num"], unique=False)

    conn = op.get_bind()
    params = sa.table(
        "params", sa.column("run_id"), sa.column("key"), sa.column("value"), sa.column("value_num")
    )
    updates = [
        {"r": run_id, "k": key, "n": number}
        for run_id, key, value in conn.execute(
            sa.select(params.c.run_id, params.c.key, params.c.value)
        )
        if (number := _number(value)) is not None
    ]
    if updates:
        conn.execute(
            sa.update(params)
            .where(params.c.run_id == sa.bindparam("r"), params.c.key == sa.bindparam("k"))
            .values(value_num=sa.bindparam("n")),
            updates,
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_params_key_value_num"), table_name="params")
    op.drop_index(op.f("ix_run_io_kind_ref"), table_name="run_io")
    op.drop_column("params", "value_num")
    op.drop_column("runs", "heartbeat_at")
