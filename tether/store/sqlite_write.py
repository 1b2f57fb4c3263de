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

The connection is kept for the next segment (one per thread, for the last database written):
a log writer records a segment every few hundredths of a second under load, and opening and
closing a connection for each one parsed the schema, checkpointed and deleted the WAL, and
synced the new WAL's header each time (a quarter of S1's log writer's time). It is opened
again when the database file was replaced, and after any error.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

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
    target = _target(url, synchronous)
    if target is None:
        return None
    path, level = target
    try:
        validate.prediction_segment(project, model, version, start_time, end_time, rows, digest)
    except InvalidField:
        return None
    created = datetime.now(UTC)
    conn = _connection(path, busy_timeout_s, level)
    if conn is None:
        return None
    try:
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
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        _forget()  # closed, which rolls back what a failed rollback left; a new one next time
        return None
    return PredictionSegment(
        int(seg_id or 0), project, model, version, start_time, end_time, rows, digest, created
    )


def connect(url: str, *, busy_timeout_s: float = 30.0, synchronous: str = "NORMAL") -> bool:
    """Open (and keep) this thread's connection for ``add_prediction_segment`` now, so that the
    first segment does not pay for it; False where that write would not answer (see the
    module's docstring)."""
    target = _target(url, synchronous)
    return target is not None and _connection(target[0], busy_timeout_s, target[1]) is not None


def _target(url: str, synchronous: str) -> tuple[Path, str] | None:
    """The database file of ``url`` and the ``synchronous`` level, or None where this module
    leaves the write to the store: not a SQLite file that exists, or a level it does not know."""
    path = sqlite_path(url)
    level = synchronous.upper()
    if path is None or not path.is_file() or level not in _SYNCHRONOUS:
        return None
    return path, level


_kept = threading.local()  # .key and .conn: this thread's connection, kept between segments


def _connection(path: Path, busy_timeout_s: float, level: str) -> sqlite3.Connection | None:
    """This thread's connection to ``path`` with these settings: the one kept if it is to the
    same file (not one replaced since), else a new one (``None`` where it cannot be opened)."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_dev, st.st_ino, busy_timeout_s, level)
    if getattr(_kept, "key", None) == key:
        return _kept.conn
    _forget()
    conn = None
    try:  # mode=rw: never create a database here
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=busy_timeout_s,
            isolation_level=None, check_same_thread=True,
        )  # fmt: skip
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute(f"PRAGMA synchronous = {level}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error:
        if conn is not None:
            conn.close()
        return None
    _kept.key, _kept.conn = key, conn
    return conn


def _forget() -> None:
    """Close this thread's kept connection, if any."""
    conn = getattr(_kept, "conn", None)
    _kept.key = _kept.conn = None
    if conn is not None:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
