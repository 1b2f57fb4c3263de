"""The SQLite file of a store: a new one is created whole, an existing one must look whole.

SQLite treats an empty file as an empty database, so a ``tether.db`` truncated to 0 bytes (a
full disk, a bad copy) would silently become a new, empty store and every record would seem
gone. So a file that exists must start with the SQLite header, and a new store's file is
written under a temporary name (header included) and linked into place, never replacing a file
that another opener created meanwhile: an empty file at the path is then always damage.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
from collections import Counter
from pathlib import Path

from tether.store.errors import StoreDamaged

HEADER = b"SQLite format 3\x00"


FileKey = tuple[int, int]  # (device, inode)

_in_use: Counter[FileKey] = Counter()  # the files the open stores of this process use
_in_use_lock = threading.Lock()


def check_or_create(database: str) -> FileKey | None:
    """Refuse a damaged file at ``database``; create the database when there is none. Returns
    the file's key for ``hold`` (None for an in-memory database or one SQLite will report).

    A file an open store of this process uses is not read again: closing a descriptor of a file
    releases every POSIX lock this process holds on it, SQLite's included, and another process
    could then delete the write-ahead log under that store (its writes lost to every other
    process).
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    key = _key(path)
    if key is None:
        _create(path)
        return _key(path)
    with _in_use_lock:
        if _in_use[key]:
            return key
    try:
        with path.open("rb") as f:
            head = f.read(len(HEADER))
    except FileNotFoundError:
        _create(path)
        return _key(path)
    except OSError:
        return None  # unreadable, a folder...: SQLite's own error says which
    if not head:
        raise StoreDamaged(str(path), "the file is empty (0 bytes)")
    if head != HEADER:
        what = "too short" if len(head) < len(HEADER) else "not a SQLite database"
        raise StoreDamaged(str(path), f"the file is {what}")
    return key


def _key(path: Path) -> FileKey | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def hold(key: FileKey | None) -> None:
    """A store of this process opened the file ``key``."""
    if key is not None:
        with _in_use_lock:
            _in_use[key] += 1


def release(key: FileKey | None) -> None:
    """A store of this process that used the file ``key`` closed."""
    if key is not None:
        with _in_use_lock:
            _in_use[key] -= 1
            if _in_use[key] <= 0:
                del _in_use[key]


def _create(path: Path) -> None:
    if not path.parent.is_dir():
        return  # SQLite's error names the missing folder
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.new")
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # writes the header
        finally:
            conn.close()
        # atomic, and never replaces another opener's file; where there are no hard links
        # (or another opener was first) SQLite creates or opens the file itself
        with contextlib.suppress(OSError):
            os.link(tmp, path)
    except (OSError, sqlite3.Error):
        pass  # opening the store reports what is wrong with the folder
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            with contextlib.suppress(OSError):  # gone already, or left for the next opener
                leftover.unlink()
