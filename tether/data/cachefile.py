"""The workspace's cache tables (stat cache, snapshots): one ``marshal``-encoded
``(format, dict)`` file each under ``.tether/cache/``.

A table is read whole in one C call and replaced atomically without an fsync: a table that is
lost, damaged or of another format reads as empty, and whoever needs it rebuilds it. Imports
only ``marshal`` and ``os``: ``tether data status`` reads one before anything else is loaded.
"""

from __future__ import annotations

import marshal
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

Stamp = tuple[int, int, int]
"""(inode, size, mtime_ns) of a table file: a replaced file has a new inode."""


def _stamp(st: os.stat_result) -> Stamp:
    return st.st_ino, st.st_size, st.st_mtime_ns


def read_table(path: str | os.PathLike[str], fmt: int) -> tuple[dict[Any, Any], Stamp | None]:
    """The table in ``path`` (empty unless it is a ``fmt`` table) and the file's stamp."""
    try:
        with open(path, "rb") as f:
            stamp = _stamp(os.fstat(f.fileno()))
            doc = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return {}, None
    if isinstance(doc, tuple) and len(doc) == 2 and doc[0] == fmt and isinstance(doc[1], dict):
        return doc[1], stamp
    return {}, stamp


def stamp_of(path: str | os.PathLike[str]) -> Stamp | None:
    """The stamp of the file at ``path`` now; None when there is none."""
    try:
        return _stamp(os.stat(path))
    except OSError:
        return None


def write_table(path: str | os.PathLike[str], fmt: int, rows: dict[Any, Any]) -> Stamp | None:
    """Replace the table in ``path``, best effort; the new file's stamp (None if not written)."""
    import contextlib
    from pathlib import Path

    from tether.config.atomic import remove_dead_temps, write_bytes_atomic

    remove_dead_temps(os.path.dirname(path))  # of a writer killed while replacing a table
    with contextlib.suppress(OSError):
        write_bytes_atomic(Path(path), marshal.dumps((fmt, rows)), durable=False)
        return stamp_of(path)
    return None
