"""The tables, in SQLAlchemy Core; migrations/ must produce exactly this (a test checks).

Metric series are stored in chunks: one ``metric_chunks`` row per (run, key, log_metrics call)
holds the points as packed little-endian arrays (int64 steps, int64 timestamps in ms, float64
values). ``metric_summaries`` keeps last/min/max/count per (run, key) for fast run search.
"""

from __future__ import annotations

import sqlalchemy as sa

from tether.store.sql.types import BigId, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)

NAME = sa.String(250)
RUN_ID = sa.String(36)
DIGEST = sa.String(128)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", NAME, nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", RUN_ID, primary_key=True),
    sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("experiment", NAME, nullable=False),
    sa.Column("name", NAME),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", UtcDateTime, nullable=False),
    sa.Column("end_time", UtcDateTime),
    sa.Column("parent_id", RUN_ID, sa.ForeignKey("runs.id")),
    sa.Column("info", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("heartbeat_at", UtcDateTime),
    sa.Column("deleted_at", UtcDateTime),  # soft delete: hidden from lists, restorable
    sa.Index(None, "project_id", "experiment", "id"),
    sa.Index(None, "parent_id"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", RUN_ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", NAME, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("value_num", sa.Float),  # the value as a number where it is one, for search
    sa.Index(None, "key", "value_num"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", RUN_ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", NAME, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

metric_chunks = sa.Table(
    "metric_chunks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", RUN_ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", NAME, nullable=False),
    sa.Column("first_step", sa.BigInteger, nullable=False),  # smallest step in the chunk
    sa.Column("last_step", sa.BigInteger, nullable=False),  # largest step in the chunk
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("steps", sa.LargeBinary, nullable=False),
    sa.Column("timestamps", sa.LargeBinary, nullable=False),
    sa.Column("values", sa.LargeBinary, nullable=False),
    sa.Index(None, "run_id", "key", "first_step"),
)

metric_summaries = sa.Table(
    "metric_summaries",
    metadata,
    sa.Column("run_id", RUN_ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", NAME, primary_key=True),
    # NULL stands for NaN: SQLite cannot store NaN
    sa.Column("last_value", sa.Float),
    sa.Column("last_step", sa.BigInteger, nullable=False),
    sa.Column("last_timestamp_ms", sa.BigInteger, nullable=False),
    sa.Column("min_value", sa.Float),
    sa.Column("max_value", sa.Float),
    sa.Column("count", sa.BigInteger, nullable=False),
    # run_id too: a search by a metric reads the index alone (covering), not each table row
    sa.Index(None, "key", "last_value", "run_id"),
)

run_io = sa.Table(
    "run_io",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", RUN_ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("ref", sa.String(512), nullable=False),
    sa.Column("name", NAME),
    sa.UniqueConstraint("run_id", "direction", "kind", "ref"),
    sa.Index(None, "kind", "ref"),
)

objects = sa.Table(
    "objects",
    metadata,
    sa.Column("digest", DIGEST, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False),  # the version counter
    sa.Column("deleted_at", UtcDateTime),  # soft delete: hidden from lists, restorable
    sa.UniqueConstraint("project_id", "name"),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("dataset_id", BigId, sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("tree_digest", DIGEST, nullable=False),
    sa.Column("file_count", sa.BigInteger, nullable=False),
    sa.Column("total_size", sa.BigInteger, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("run_id", RUN_ID, sa.ForeignKey("runs.id")),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("model_id", BigId, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("artifact_digest", DIGEST, nullable=False),
    sa.Column("flavor", NAME, nullable=False),
    sa.Column("signature", sa.JSON),
    sa.Column("run_id", RUN_ID, sa.ForeignKey("runs.id")),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("model_id", BigId, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("alias", NAME, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(
        ["model_id", "version"], ["model_versions.model_id", "model_versions.version"]
    ),
)

alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model_id", BigId, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("alias", NAME, nullable=False),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer, nullable=False),
    sa.Column("actor", NAME, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("time", UtcDateTime, nullable=False),
    sa.Index(None, "model_id", "alias", "id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("time", UtcDateTime, nullable=False),
    sa.Column("actor", NAME, nullable=False),
    sa.Column("action", NAME, nullable=False),
    sa.Column("target", sa.String(1024), nullable=False),
    sa.Column("project", NAME),  # a name, not a key: denied requests may name unknown projects
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON),
    sa.Index(None, "project", "id"),
)

prediction_segments = sa.Table(
    "prediction_segments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("model", NAME, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("start_time", UtcDateTime, nullable=False),  # the first row's time
    sa.Column("end_time", UtcDateTime, nullable=False),  # the last row's time
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("digest", DIGEST, nullable=False),  # the Parquet segment in the object store
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index(None, "project_id", "model", "end_time"),
)

# Monitoring (tether.monitoring.cache): the reference profile of a dataset version's content,
# stored as an object, by tree digest and profile format; computed once, read by every window.
reference_profiles = sa.Table(
    "reference_profiles",
    metadata,
    sa.Column("tree_digest", DIGEST, primary_key=True),
    sa.Column("format", sa.Integer, primary_key=True),
    sa.Column("digest", DIGEST, nullable=False),  # the profile (.npz) in the object store
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# The continuous-training controller (tether.automation): one lease per loop, the triggers it
# has seen (each one an attempt: pending, running, done, failed), and the events it recorded.
loop_leases = sa.Table(
    "loop_leases",
    metadata,
    sa.Column("project", NAME, primary_key=True),
    sa.Column("loop", NAME, primary_key=True),
    sa.Column("holder", NAME, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

loop_triggers = sa.Table(
    "loop_triggers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project", NAME, nullable=False),
    sa.Column("loop", NAME, nullable=False),
    sa.Column("key", sa.String(1024), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("next_try_at", UtcDateTime),
    sa.Column("detail", sa.JSON),
    sa.UniqueConstraint("project", "loop", "key"),
    sa.Index(None, "project", "loop", "status"),
)

loop_events = sa.Table(
    "loop_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project", NAME, nullable=False),
    sa.Column("loop", NAME, nullable=False),
    sa.Column("time", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("trigger_id", BigId),
    sa.Column("detail", sa.JSON),
    sa.Index(None, "project", "loop", "id"),
)
