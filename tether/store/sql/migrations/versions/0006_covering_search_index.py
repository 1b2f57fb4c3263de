"""covering index for metric search

``metric_summaries (key, last_value)`` becomes ``(key, last_value, run_id)``: a search such as
``metrics.acc > 0.9`` ordered by ``metrics.acc`` walks the index and joins each entry to its
run without reading the table row for ``run_id`` (on SQLite a third of the search's time).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_metric_summaries_key_last_value_run_id"),
        "metric_summaries",
        ["key", "last_value", "run_id"],
        unique=False,
    )
    op.drop_index(op.f("ix_metric_summaries_key_last_value"), table_name="metric_summaries")


def downgrade() -> None:
    op.create_index(
        op.f("ix_metric_summaries_key_last_value"),
        "metric_summaries",
        ["key", "last_value"],
        unique=False,
    )
    op.drop_index(op.f("ix_metric_summaries_key_last_value_run_id"), table_name="metric_summaries")
