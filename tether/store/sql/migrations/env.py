"""Alembic environment: runs on the connection that ``tether.store.sql.migrate`` passes in."""

from __future__ import annotations

from alembic import context

from tether.store.sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("Tether migrations run only through tether.store.sql.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
