"""Brings a database to the schema head on open; cheap when it already is there.

Opening checks ``alembic_version`` with one query. The rest runs inside a transaction that holds
a lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so concurrent first opens set up
the schema exactly once. A new (empty) database gets the tables straight from schema.py and is
stamped at HEAD in that transaction, as Alembic's docs recommend for fresh databases: no Alembic
import, no replay of every migration. Alembic runs only for a database at an older revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tether.store.errors import SchemaError
from tether.store.sql.engine import BEGIN_MODE
from tether.store.sql.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0007"  # newest revision under migrations/versions (a test keeps them in step)
MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x7E7E_0001  # arbitrary, constant: "tether schema migration"

# Alembic's own version table, as alembic.runtime.migration creates it
_VERSION = sa.Table(
    "alembic_version",
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            with conn.begin():
                value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as e:
            if _is_missing_table(e):
                return None
            raise
    return None if value is None else str(value)


def _revision_in(conn: sa.Connection) -> str | None:
    """The revision, read inside the caller's transaction (a failed query would abort it on
    PostgreSQL, so the table is looked up first)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _is_missing_table(e: sa.exc.DBAPIError) -> bool:
    text = str(e.orig).lower()
    return "no such table" in text or "does not exist" in text or "undefinedtable" in text


def alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def ensure_schema(engine: Engine, *, target: str = "head") -> None:
    if target == "head" and current_revision(engine) == HEAD:
        return
    upgrade(engine, target)


def upgrade(engine: Engine, target: str = "head") -> None:
    with engine.connect() as conn:
        conn = conn.execution_options(**{BEGIN_MODE: "IMMEDIATE"})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
            if target == "head":
                revision = _revision_in(conn)
                if revision == HEAD:
                    return  # another opener migrated while this one waited for the lock
                if revision is None and _is_empty(conn):
                    create_at_head(conn)
                    return
            _migrate(conn, target)


def _is_empty(conn: sa.Connection) -> bool:
    """True when none of schema.py's tables exist (a database without alembic_version but with
    some of them is left to Alembic, which fails loudly rather than guessing)."""
    return not set(sa.inspect(conn).get_table_names()) & set(metadata.tables)


def create_at_head(conn: sa.Connection) -> None:
    """Creates schema.py's tables and stamps HEAD, in the caller's transaction."""
    metadata.create_all(conn)
    _VERSION.create(conn)
    conn.execute(_VERSION.insert().values(version_num=HEAD))


def _migrate(conn: sa.Connection, target: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    try:
        command.upgrade(alembic_config(conn), target)
    except CommandError as e:
        raise SchemaError(
            f"cannot migrate the metadata store schema: {e}; if the database was "
            "written by a newer Tether, upgrade Tether"
        ) from None
