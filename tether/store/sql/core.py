"""What every part of SqlStore shares: the engine, transactions and common lookups."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from tether.store.errors import DeferredWriteFailed, ProjectNotFound, RunNotFound
from tether.store.sql import schema as t
from tether.store.sql.deferred import DeferredWrites, PendingFinish, PendingRun
from tether.store.sql.engine import BEGIN_MODE, safe_url
from tether.store.sql.translate import translated

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


_PLAIN_SQL: dict[tuple[Any, tuple[str, ...]], tuple[str, tuple[str, ...]] | None] = {}


def execute_plain_many(conn: sa.Connection, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
    """``conn.execute(stmt, rows)`` for many rows of plain values (str, int, float, bytes, None)
    with the same keys; on SQLite without SQLAlchemy's per-row parameter processing.

    Run records and metrics are written thousands of rows at a time, and building each row's
    parameters cost SQLAlchemy more than SQLite's own work (T2: ~5 µs a row). ``stmt`` must be
    built once (a module constant: it is the cache key) and its columns need no bind
    processing; its SQL is compiled once per set of keys and handed to sqlite3's executemany.
    PostgreSQL keeps SQLAlchemy's batched ``insertmanyvalues``.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(stmt, list(rows))
        return
    keys = tuple(rows[0])
    cache_key = (stmt, keys)
    if cache_key not in _PLAIN_SQL:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(keys))
        order = compiled.positiontup
        plain = order is not None and not compiled.escaped_bind_names and set(order) <= set(keys)
        _PLAIN_SQL[cache_key] = (str(compiled), tuple(order or ())) if plain else None
    found = _PLAIN_SQL[cache_key]
    if found is None:  # a statement sqlite3 could not take as compiled
        conn.execute(stmt, list(rows))
        return
    sql, order = found
    if len(order) > 1:  # each row's values in the statement's order, picked in C
        conn.exec_driver_sql(sql, list(map(itemgetter(*order), rows)))
    else:
        conn.exec_driver_sql(sql, [tuple(r[k] for k in order) for r in rows])


def fetch_plain(conn: sa.Connection, query: Any) -> list[Any]:
    """``conn.execute(query).all()``; on SQLite the DB-API's own tuples, without SQLAlchemy's
    per-row result processing (a search reads hundreds of rows: that processing cost more than
    SQLite's work). Only for columns SQLite returns as their final value (text, numbers) or
    that the caller converts itself (dates: ``sqlite_time``; JSON: text).
    """
    result = conn.execute(query)
    if conn.dialect.name != "sqlite":
        return list(result.all())
    try:
        return list(result.cursor.fetchall())  # a list already: a cheap copy
    finally:
        result.close()


_PLAIN_VALUE = (str, int, float)  # exactly these types (bool is not one): sqlite3 binds them as is


def plain_query(conn: sa.Connection, query: Any) -> tuple[str, tuple[Any, ...]] | None:
    """SQL text and positional parameters of ``query`` on SQLite, for ``fetch_sql``; None where
    a parameter needs SQLAlchemy's processing (a time, a bool, JSON) or the dialect is another.

    A search's statement costs SQLAlchemy more to build and compile than SQLite takes to run
    it; the caller keeps the result for the next identical query. ``in`` lists are rendered
    out (one ``?`` per value), so the text and the parameters stand on their own.
    """
    if conn.dialect.name != "sqlite":
        return None
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    values = tuple(params[name] for name in compiled.positiontup or ())
    if compiled.escaped_bind_names or any(type(v) not in _PLAIN_VALUE for v in values):
        return None
    return str(compiled), values


def fetch_sql(conn: sa.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """The rows of SQL text on the connection's own DB-API cursor (SQLite's tuples), inside
    its transaction; no SQLAlchemy result object (its set-up cost more than a small query).
    A driver error is wrapped as SQLAlchemy wraps any statement's, so ``translated`` names it.
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        return list(cursor.execute(sql, params).fetchall())
    except conn.dialect.loaded_dbapi.Error as e:
        raise sa.exc.DBAPIError.instance(sql, params, e, conn.dialect.loaded_dbapi.Error) from e
    finally:
        cursor.close()


IN_BATCH = 500  # run ids in one `in` list (SQLite: at most 32,766 parameters a statement)


def marks(n: int) -> str:
    """``?, ?, ...``: ``n`` positional parameters (SQLite), for an ``in`` list."""
    return ", ".join("?" * n)


class SqlCore:
    def __init__(self, engine: Engine, url: URL) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{BEGIN_MODE: "IMMEDIATE"})
        self._url = url
        self._safe_url = safe_url(url)  # asked for on every run start (provenance)
        self._project_ids: dict[str, int] = {}
        self._deferred = DeferredWrites()
        self._sqlite_file: tuple[int, int] | None = None  # set by open_sql_store

    @property
    def url(self) -> str:
        """The store URL with any password hidden."""
        return self._safe_url

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._engine.dispose()
            if self._sqlite_file is not None:
                from tether.store.sql.sqlite_file import release

                release(self._sqlite_file)
                self._sqlite_file = None

    def flush(self) -> None:
        """Write the run records that ``create_run``/``finish_run(defer=True)`` queued."""
        if self._deferred.waiting:
            self._deferred.flush(self._write_deferred)

    def _write_deferred(self, runs: list[PendingRun], finishes: list[PendingFinish]) -> None:
        raise NotImplementedError  # RunsMixin writes them

    def _flush_first(self) -> None:
        """Queued runs first, in their own transaction. Runs the database refused are reported
        here (logged) rather than failing an unrelated read or write; ``flush()`` raises."""
        try:
            self._deferred.flush(self._write_deferred)
        except DeferredWriteFailed as e:
            log.error("%s", e)

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        if self._deferred.waiting:  # this process sees its own runs
            self._flush_first()
        with translated(self._url), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One short write transaction; on SQLite it holds the write lock from its start."""
        if self._deferred.waiting:  # queued runs first, in their own transaction
            self._flush_first()
        with translated(self._url), self._writer.begin() as conn:
            yield conn

    @staticmethod
    def _insert(conn: sa.Connection, table: sa.Table) -> Any:
        """An INSERT that supports ``on_conflict_do_nothing/update`` on this dialect."""
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def _project_id(self, conn: sa.Connection, project: str) -> int:
        """A project's id; projects are never renamed or deleted, so ids are cached."""
        cache = self._project_ids
        pid = cache.get(project)
        if pid is None:
            found = conn.execute(
                sa.select(t.projects.c.id).where(t.projects.c.name == project)
            ).scalar()
            if found is None:
                raise ProjectNotFound(project)
            pid = cache[project] = int(found)
        return pid

    @staticmethod
    def _require_run(conn: sa.Connection, run_id: str, *, lock: bool = False) -> None:
        query = sa.select(t.runs.c.id).where(t.runs.c.id == run_id)
        if lock:
            query = query.with_for_update()
        if conn.execute(query).first() is None:
            raise RunNotFound(run_id)

    @staticmethod
    def _next_version(
        conn: sa.Connection, table: sa.Table, project_id: int, name: str
    ) -> tuple[int, int]:
        """Allocate the next version of a dataset or model: ``(row id, version)``.

        The counter row's UPDATE takes a row lock (PostgreSQL) inside the write lock (SQLite),
        so concurrent writers get 1, 2, 3... with no gaps or duplicates.
        """
        conn.execute(
            SqlCore._insert(conn, table)
            .values(project_id=project_id, name=name, last_version=0)
            .on_conflict_do_nothing(index_elements=["project_id", "name"])
        )
        row = conn.execute(
            sa.update(table)
            .where(table.c.project_id == project_id, table.c.name == name)
            .values(last_version=table.c.last_version + 1)
            .returning(table.c.id, table.c.last_version)
        ).one()
        return int(row[0]), int(row[1])
