"""Opening a store from a URL; the implementation is imported only when it is needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.store.base import Store
from tether.store.schemes import split_scheme

if TYPE_CHECKING:
    from tether.config.settings import Settings


def open_store(
    url: str, *, busy_timeout_s: float = 30.0, sqlite_synchronous: str = "NORMAL"
) -> Store:
    """Open the metadata store at ``url``, creating or migrating its schema if needed.

    Accepts ``sqlite:///PATH``, ``sqlite://`` (in memory), and ``postgresql://``,
    ``postgres://`` or ``postgresql+psycopg://`` URLs. ``sqlite_synchronous`` is SQLite's
    ``PRAGMA synchronous`` level (OFF, NORMAL, FULL, EXTRA); PostgreSQL ignores it.
    """
    split_scheme(url)  # fail fast, before importing SQLAlchemy
    from tether.store.sql.store import open_sql_store

    return open_sql_store(url, busy_timeout_s=busy_timeout_s, sqlite_synchronous=sqlite_synchronous)


def open_store_from_settings(settings: Settings) -> Store:
    return open_store(
        settings.store_url,
        busy_timeout_s=float(settings["store.busy_timeout_s"]),
        sqlite_synchronous=str(settings["store.sqlite_synchronous"]),
    )
