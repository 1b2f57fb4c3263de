"""One prediction-log segment recorded in a SQLite store with the standard library's
``sqlite3``: what ``tether serve``'s log writer asks of the store, without importing SQLAlchemy.

Opening the full store in a server (SQLAlchemy, Alembic's schema check) took 1-3 s of CPU that
held the GIL against the event loop, at the log's first segment: under load, a stall of every
request and a fifth of the requests of S1's first seconds. The full store is still what a
server opens for anything else it asks (``/metrics``' drift gauges, a model reload).

As ``sqlite_read``, it answers only when the answer is plain: a ``sqlite:///PATH`` URL whose
file exists, the table with the columns written, the project found, values the full store
would take. Anything else is ``None``, and the caller asks the full store, which creates,
migrates, and raises the error that names what is wrong. Times are stored as the full store
stores them (naive UTC text with microseconds), in one ``BEGIN IMMEDIATE`` transaction with
the store's busy timeout and ``synchronous`` level.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime

from tether.store import validate
from tether.store.entities import PredictionSegment
from tether.store.errors import InvalidField
from tether.store.sqlite_read import sqlite_path, sqlite_time

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
_INSERT = (
    "INSERT INTO prediction_segments "
    "(project_id, model, version, start_time, end_time, rows, digest, created_at) "
    "SELECT id, ?, ?, ?, ?, ?, ?, ? FROM projects WHERE name = ?"
)


def add_prediction_segment(
    url: str,
    project: str,
    model: str,
    *,
    version: int,
    start_time: datetime,
    end_time: datetime,
    rows: int,
    digest: str,
    busy_timeout_s: float = 30.0,
    synchronous: str = "NORMAL",
) -> PredictionSegment | None:
    """The segment recorded, as the full store's ``add_prediction_segment`` records it; ``None``
    when this write cannot tell (see the module's docstring): nothing was written then."""
    path = sqlite_path(url)
    level = synchronous.upper()
    if path is None or not path.is_file() or level not in _SYNCHRONOUS:
        return None
    try:
        validate.prediction_segment(project, model, version, start_time, end_time, rows, digest)
    except InvalidField:
        return None
    created = datetime.now(UTC)
    try:  # mode=rw: never create a database here
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=busy_timeout_s,
            isolation_level=None,
        )  # fmt: skip
    except sqlite3.Error:
        return None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute(f"PRAGMA synchronous = {level}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        cursor = conn.execute(
            _INSERT,
            (model, version, sqlite_time(start_time), sqlite_time(end_time), rows, digest,
             sqlite_time(created), project),
        )  # fmt: skip
        if cursor.rowcount != 1:  # no such project: the full store says so
            conn.execute("ROLLBACK")
            return None
        seg_id = cursor.lastrowid
        conn.execute("COMMIT")
    except sqlite3.Error:  # no such table or column, busy, not a database: the store decides
        # a failed rollback leaves it to closing the connection below, which rolls back too
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        return None
    finally:
        conn.close()
    return PredictionSegment(
        int(seg_id or 0), project, model, version, start_time, end_time, rows, digest, created
    )
