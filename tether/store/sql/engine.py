"""Store URLs, engine creation and per-connection settings (SQLite pragmas, BEGIN IMMEDIATE)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from tether.config.settings import SQLITE_SYNCHRONOUS
from tether.errors import MissingDependency
from tether.store.errors import InvalidStoreOption, InvalidStoreUrl
from tether.store.schemes import SQL_SCHEMES, split_scheme

# Page cache of each SQLite connection, KiB; pages are allocated as they are read, up to this
SQLITE_CACHE_KIB = 64 * 1024

# execution option read by the SQLite "begin" hook: DEFERRED for reads, IMMEDIATE for writes
BEGIN_MODE = "tether_sqlite_begin"


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL for a store URL, with ``postgres://`` normalised to psycopg 3."""
    scheme, rest = split_scheme(url)
    driver = SQL_SCHEMES[scheme]
    try:
        return make_url(f"{driver}://{rest}")
    except sa.exc.ArgumentError as e:
        raise InvalidStoreUrl(f"cannot parse store URL with scheme {scheme!r}: {e}") from None


def safe_url(url: URL) -> str:
    """The URL to show in messages: password hidden, SQLite without its driver name."""
    if url.get_backend_name() == "sqlite":
        url = url.set(drivername="sqlite")
    return url.render_as_string(hide_password=True)


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def sqlite_synchronous_level(value: object) -> str:
    """``value`` as one of SQLite's synchronous levels (any case), or InvalidStoreOption."""
    level = value.strip().upper() if isinstance(value, str) else None
    if level not in SQLITE_SYNCHRONOUS:
        raise InvalidStoreOption(
            f"invalid SQLite synchronous level {value!r}; use one of "
            f"{', '.join(SQLITE_SYNCHRONOUS)} (setting store.sqlite_synchronous)"
        )
    return level


def create_engine(url: URL, *, busy_timeout_s: float, sqlite_synchronous: str = "NORMAL") -> Engine:
    """An engine for ``url``; ``sqlite_synchronous`` applies to SQLite only."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_s, sqlite_synchronous)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise MissingDependency(
            "A PostgreSQL metadata store", "postgres", "psycopg[binary]"
        ) from None
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    return sa.create_engine(url, connect_args=connect_args, pool_size=5, max_overflow=10)


def _sqlite_engine(url: URL, busy_timeout_s: float, synchronous: str) -> Engine:
    memory = is_memory(url)
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": busy_timeout_s, "check_same_thread": False}
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, **kwargs)
    busy_ms = int(busy_timeout_s * 1000)
    level = sqlite_synchronous_level(synchronous)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Python's sqlite3 would BEGIN lazily (DEFERRED) on the first write; we BEGIN ourselves
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        if not memory:
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {level}")
        # SQLite's default page cache is 2 MiB: a search over 10,000 runs touches more index
        # and table pages than that, and re-read half of them from the file on every query
        cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A DEFERRED transaction that reads and then writes cannot wait for a lock in WAL mode
        # (SQLITE_BUSY at once); IMMEDIATE takes the write lock up front, honouring busy_timeout.
        mode = conn.get_execution_options().get(BEGIN_MODE, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
