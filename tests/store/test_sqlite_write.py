"""A prediction segment recorded without SQLAlchemy (``tether.store.sqlite_write``): the row the
store would write, read back by the store; or ``None``, and nothing written, whenever the store
has to answer."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tether.store import open_store
from tether.store.sqlite_read import sqlite_path
from tether.store.sqlite_write import add_prediction_segment

T0 = datetime(2026, 12, 6, 21, 0, 0, 123456, tzinfo=UTC)


def _segment(**kw: Any) -> dict[str, Any]:
    return {
        "version": 3, "start_time": T0, "end_time": T0 + timedelta(seconds=9.5),
        "rows": 50_000, "digest": "d" * 64, **kw,
    }  # fmt: skip


@pytest.fixture
def url(sqlite_store_url: str) -> str:
    store = open_store(sqlite_store_url)
    try:
        store.get_or_create_project("p")
    finally:
        store.close()
    return sqlite_store_url


def test_the_store_reads_back_what_it_wrote(url: str) -> None:
    berlin = timezone(timedelta(hours=1))
    written = add_prediction_segment(
        url, "p", "churn", **_segment(end_time=(T0 + timedelta(seconds=9.5)).astimezone(berlin))
    )
    assert written is not None
    store = open_store(url)
    try:
        store.add_prediction_segment("p", "churn", **_segment(version=4, digest="e" * 64))
        [first, second] = store.list_prediction_segments("p", "churn")
    finally:
        store.close()
    assert first.id == written.id and second.id == written.id + 1
    assert (first.version, first.rows, first.digest) == (3, 50_000, "d" * 64)
    assert first.start_time == T0 and first.end_time == T0 + timedelta(seconds=9.5)
    assert first.start_time.tzinfo is not None and first.end_time.tzinfo is not None
    assert abs(first.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert second.version == 4  # the store's own row beside it, numbered after it


def _count(url: str) -> int:
    path = sqlite_path(url)
    assert path is not None
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM prediction_segments").fetchone()[0])


@pytest.mark.parametrize(
    ("project", "model", "kw"),
    [
        ("nope", "churn", {}),  # no such project: the store raises the error that names it
        ("p", "../etc", {}),
        ("p", "", {}),
        ("p", "churn", {"digest": "x\x00y"}),
        ("p", "churn", {"version": -1}),
        ("p", "churn", {"rows": True}),
        ("p", "churn", {"start_time": T0.replace(tzinfo=None)}),
        ("p", "churn", {"end_time": T0 - timedelta(seconds=1)}),
    ],
)
def test_what_the_store_would_refuse_is_left_to_it(
    url: str, project: str, model: str, kw: dict[str, Any]
) -> None:
    assert add_prediction_segment(url, project, model, **_segment(**kw)) is None
    assert _count(url) == 0


def test_other_databases_missing_files_and_foreign_schemas_are_left_to_the_store(
    url: str, tmp_path: Path
) -> None:
    seg = _segment()
    assert add_prediction_segment("postgresql://127.0.0.1/test", "p", "m", **seg) is None
    missing = tmp_path / "missing.db"
    assert add_prediction_segment(f"sqlite:///{missing}", "p", "m", **seg) is None
    assert not missing.exists()  # never made here
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    assert add_prediction_segment(f"sqlite:///{other}", "p", "m", **seg) is None
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    assert add_prediction_segment(f"sqlite:///{junk}", "p", "m", **seg) is None
    assert add_prediction_segment(url, "p", "m", synchronous="SOMETIMES", **seg) is None
    assert add_prediction_segment(url, "p", "m", **seg) is not None


def test_a_locked_store_is_left_to_the_store_after_the_busy_timeout(url: str) -> None:
    """And the write after it records its segment (the connection kept between segments is
    opened again after a failure)."""
    path = sqlite_path(url)
    assert path is not None
    assert add_prediction_segment(url, "p", "m", busy_timeout_s=0.2, **_segment()) is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert add_prediction_segment(url, "p", "m", busy_timeout_s=0.2, **_segment()) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _count(url) == 1
    assert add_prediction_segment(url, "p", "m", busy_timeout_s=0.2, **_segment()) is not None
    assert _count(url) == 2


def test_a_serving_process_logs_predictions_without_importing_sqlalchemy(
    tmp_path: Path,
) -> None:
    """A fresh process: the log writer's segments land in the store, SQLAlchemy never loads."""
    from tether.config import init_workspace

    init_workspace(tmp_path, project="s")
    from tether.workspace import Workspace

    setup = Workspace(tmp_path)
    try:
        setup.store.get_or_create_project("s")  # as registering the served model does
    finally:
        setup.close()
    code = f"""
import sys, time
import numpy as np
from tether.workspace import Workspace
from tether.serving.predlog import PredictionLog
from tether.serving.store_source import store_on_use
ws = Workspace({str(tmp_path)!r})
log = PredictionLog(store_on_use(ws), ws.objects, ws.project, flush_s=0.2, drain_s=0.05)
for i in range(10):
    log.record("m", 1, f"r{{i}}", time.time(), 0.001, np.ones((2, 3)), np.zeros(2), 2)
log.close()
assert log.written == 20, log.written
print("sqlalchemy" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False", out.stderr
    ws = Workspace(tmp_path)
    try:
        [segment] = ws.store.list_prediction_segments("s", "m")
    finally:
        ws.close()
    assert segment.rows == 20 and segment.version == 1


def test_segments_after_the_database_was_replaced_go_into_the_new_file(
    url: str, tmp_path: Path
) -> None:
    """The connection kept between segments is to a file: one put in the path's place (a store
    made again) gets the next segments, never the old file held open."""
    import shutil

    path = sqlite_path(url)
    assert path is not None
    fresh = tmp_path / "fresh.db"
    with sqlite3.connect(path) as src, sqlite3.connect(fresh) as dst:
        src.backup(dst)  # the store with its project and no segment
    assert add_prediction_segment(url, "p", "m", **_segment()) is not None
    assert add_prediction_segment(url, "p", "m", **_segment(version=4)) is not None
    assert _count(url) == 2
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(fresh, tmp_path / "swap.db")
    (tmp_path / "swap.db").replace(path)
    assert add_prediction_segment(url, "p", "m", **_segment(version=5)) is not None
    with sqlite3.connect(path) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM prediction_segments")]
    assert versions == [5]


def test_the_connection_opened_ahead_is_the_one_the_first_segment_uses(
    url: str, tmp_path: Path
) -> None:
    """A log writer opens its connection before the first segment is due (``connect``); the
    segment then goes through that same connection."""
    from tether.store import sqlite_write

    assert not sqlite_write.connect("postgresql://127.0.0.1/test")
    missing = tmp_path / "missing.db"
    assert not sqlite_write.connect(f"sqlite:///{missing}")
    assert not missing.exists()  # never made here
    assert not sqlite_write.connect(url, synchronous="SOMETIMES")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    assert not sqlite_write.connect(f"sqlite:///{junk}")
    assert sqlite_write.connect(url)
    opened = sqlite_write._kept.conn
    assert add_prediction_segment(url, "p", "m", **_segment()) is not None
    assert sqlite_write._kept.conn is opened
    assert _count(url) == 1
