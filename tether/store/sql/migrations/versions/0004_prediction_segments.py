"""prediction log segments

Adds ``prediction_segments``: one row per Parquet segment of a served model's prediction log
(model, version, the time range of its rows, the row count and the segment's object digest), so
that any process can read a window of predictions across server restarts and workers.

Revision ID: 0004
Revises: 0003 (the registry's 0004 comes in between when both are merged: set it here then)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_segments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("project_id", BIG_ID, nullable=False),
        sa.Column("model", sa.String(250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_prediction_segments_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_segments")),
    )
    op.create_index(
        op.f("ix_prediction_segments_project_id_model_end_time"),
        "prediction_segments",
        ["project_id", "model", "end_time"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_prediction_segments_project_id_model_end_time"), table_name="prediction_segments"
    )
    op.drop_table("prediction_segments")
