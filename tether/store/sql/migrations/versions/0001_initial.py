"""initial

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# 64-bit keys; SQLite auto-increments only INTEGER PRIMARY KEY
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("action", sa.String(length=250), nullable=False),
        sa.Column("target", sa.String(length=1024), nullable=False),
        sa.Column("project", sa.String(length=250), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_project_id"), "audit_events", ["project", "id"], unique=False
    )
    op.create_table(
        "objects",
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_objects")),
    )
    op.create_table(
        "projects",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
    op.create_table(
        "datasets",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("project_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_datasets_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_datasets_project_id_name")),
    )
    op.create_table(
        "models",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("project_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_models_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_models_project_id_name")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", BIG_ID, nullable=False),
        sa.Column("experiment", sa.String(length=250), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["runs.id"], name=op.f("fk_runs_parent_id_runs")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_runs_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_parent_id"), "runs", ["parent_id"], unique=False)
    op.create_index(
        op.f("ix_runs_project_id_experiment_id"),
        "runs",
        ["project_id", "experiment", "id"],
        unique=False,
    )
    op.create_table(
        "alias_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("model_id", BIG_ID, nullable=False),
        sa.Column("alias", sa.String(length=250), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_alias_events_model_id_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias_events")),
    )
    op.create_index(
        op.f("ix_alias_events_model_id_alias_id"),
        "alias_events",
        ["model_id", "alias", "id"],
        unique=False,
    )
    op.create_table(
        "dataset_versions",
        sa.Column("dataset_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tree_digest", sa.String(length=128), nullable=False),
        sa.Column("file_count", sa.BigInteger(), nullable=False),
        sa.Column("total_size", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_versions_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_dataset_versions_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("dataset_id", "version", name=op.f("pk_dataset_versions")),
    )
    op.create_table(
        "metric_chunks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("first_step", sa.BigInteger(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("steps", sa.LargeBinary(), nullable=False),
        sa.Column("timestamps", sa.LargeBinary(), nullable=False),
        sa.Column("values", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_metric_chunks_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_chunks")),
    )
    op.create_index(
        op.f("ix_metric_chunks_run_id_key_first_step"),
        "metric_chunks",
        ["run_id", "key", "first_step"],
        unique=False,
    )
    op.create_table(
        "metric_summaries",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("last_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_metric_summaries_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_metric_summaries")),
    )
    op.create_index(
        op.f("ix_metric_summaries_key_last_value"),
        "metric_summaries",
        ["key", "last_value"],
        unique=False,
    )
    op.create_table(
        "model_versions",
        sa.Column("model_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("artifact_digest", sa.String(length=128), nullable=False),
        sa.Column("flavor", sa.String(length=250), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_model_versions_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_model_versions_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("model_id", "version", name=op.f("pk_model_versions")),
    )
    op.create_table(
        "params",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_params_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_params")),
    )
    op.create_table(
        "run_io",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_io_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_io")),
        sa.UniqueConstraint(
            "run_id", "direction", "kind", "ref", name=op.f("uq_run_io_run_id_direction_kind_ref")
        ),
    )
    op.create_table(
        "tags",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_tags_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_tags")),
    )
    op.create_table(
        "aliases",
        sa.Column("model_id", BIG_ID, nullable=False),
        sa.Column("alias", sa.String(length=250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            name=op.f("fk_aliases_model_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_aliases_model_id_models")
        ),
        sa.PrimaryKeyConstraint("model_id", "alias", name=op.f("pk_aliases")),
    )


def downgrade() -> None:
    op.drop_table("aliases")
    op.drop_table("tags")
    op.drop_table("run_io")
    op.drop_table("params")
    op.drop_table("model_versions")
    op.drop_index(op.f("ix_metric_summaries_key_last_value"), table_name="metric_summaries")
    op.drop_table("metric_summaries")
    op.drop_index(op.f("ix_metric_chunks_run_id_key_first_step"), table_name="metric_chunks")
    op.drop_table("metric_chunks")
    op.drop_table("dataset_versions")
    op.drop_index(op.f("ix_alias_events_model_id_alias_id"), table_name="alias_events")
    op.drop_table("alias_events")
    op.drop_index(op.f("ix_runs_project_id_experiment_id"), table_name="runs")
    op.drop_index(op.f("ix_runs_parent_id"), table_name="runs")
    op.drop_table("runs")
    op.drop_table("models")
    op.drop_table("datasets")
    op.drop_table("projects")
    op.drop_table("objects")
    op.drop_index(op.f("ix_audit_events_project_id"), table_name="audit_events")
    op.drop_table("audit_events")
