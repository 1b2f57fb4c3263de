"""Fingerprints of data folders as ``stat`` sees them, so that an unchanged folder is known to
match its version without looking up a single digest.

A fingerprint is the BLAKE3 digest of every file's path, size, mtime_ns, inode and mode, in the
order the walk found them. When a folder is known to hold exactly the tree of a version (it
was just added, or a full status found it clean), its fingerprint is saved with that tree's
digest in ``.tether/cache/snapshots.v1``. ``status`` then walks the folder, fingerprints it and,
when the fingerprint and the tree both match, is done: no stat-cache load, no manifest read. Any
change of a file's size, mtime or inode (an edit, a rename, a re-creation) changes the
fingerprint, and the full comparison runs. Fingerprints of files with racy (too recent,
whole-second) mtimes are not saved, for the same reason as the stat cache's.

:func:`unchanged` is that check for every pointer of a workspace. It runs before anything else
is imported in ``tether data status``, so this module imports little: no pathlib, no typing.
"""

from __future__ import annotations

import marshal
import os
import time
from operator import attrgetter

from tether.config.locate import DIRNAME
from tether.data.cachefile import read_table, write_table
from tether.data.pointer_files import SUFFIX, pointer_files, read_as_written
from tether.data.statcache import RACY_NS
from tether.objects.walk import Columns, Found, scan, stat_columns

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Sequence

FORMAT = 2
MAX_ENTRIES = 10_000

_PATH = attrgetter("path")
_STAT = attrgetter("stat")
_COLUMNS = [attrgetter(name) for name in ("st_size", "st_mtime_ns", "st_ino", "st_mode")]


def fingerprint(files: Sequence[Found]) -> str | None:
    """The fingerprint of scanned files; None when an mtime is too recent to trust."""
    stats = list(map(_STAT, files))  # columns made by map: no Python loop per file
    sizes, mtimes, inodes, modes = (list(map(column, stats)) for column in _COLUMNS)
    return fingerprint_columns((list(map(_PATH, files)), sizes, mtimes, inodes, modes))


def fingerprint_columns(columns: Columns) -> str | None:
    """:func:`fingerprint` of the files that :func:`~tether.objects.walk.stat_columns` lists."""
    # In walk order, not sorted: a folder lists its entries in the same order while it is
    # unchanged; an order that changes anyway only costs one full comparison. Each column is
    # encoded by marshal version 2: no back-references, so equal lists give equal bytes.
    mtimes = columns[2]
    now = time.time_ns()
    if mtimes and now - max(mtimes) <= RACY_NS:  # a file changed in the last seconds
        recent = [m for m in mtimes if now - m <= RACY_NS]
        if any(m % 1_000_000_000 == 0 for m in recent):
            return None  # a whole-second mtime this recent may hide a later write
    import blake3  # as tether.objects.digest.hash_bytes, without the imports of tether.objects

    hasher = blake3.blake3(marshal.dumps(FORMAT, 2))
    for column in columns:
        hasher.update(marshal.dumps(column, 2))  # separately: faster than one big tuple
    return str(hasher.hexdigest())


class Snapshots:
    """``data path -> (tree digest, fingerprint)`` for one workspace; small, read whole."""

    def __init__(self, tether_dir: str | os.PathLike[str]) -> None:
        self.path = os.path.join(tether_dir, "cache", "snapshots.v1")

    def _read(self) -> dict[str, tuple[str, str]]:
        return read_table(self.path, FORMAT)[0]

    def matches(self, data: str | os.PathLike[str], tree: str, fp: str | None) -> bool:
        return fp is not None and self._read().get(os.path.realpath(data)) == (tree, fp)

    def save(self, data: str | os.PathLike[str], tree: str, fp: str | None) -> None:
        """Remember that ``data`` held ``tree`` while it had fingerprint ``fp``; best effort."""
        if fp is None:
            return
        rows = self._read()
        if len(rows) >= MAX_ENTRIES:
            rows = {}
        rows[os.path.realpath(data)] = (tree, fp)
        write_table(self.path, FORMAT, rows)  # only a cache: the next status compares in full


def unchanged(root: str) -> list[tuple[str, str, int]] | None:
    """(data path relative to ``root``, dataset name, version) for every pointer in the
    workspace ``root`` (a real path), when each dataset's snapshot shows it unchanged.

    None when that cannot be known so cheaply (no pointer, a pointer edited by hand, data
    missing, outside ``root`` or changed): :func:`tether.data.changes.status` can tell.
    Errors (an unreadable folder) are raised as :func:`~tether.objects.walk.scan` raises them.
    """
    snapshots = Snapshots(os.path.join(root, DIRNAME))
    found = []
    listed: dict[str, list[str]] = {}
    for pointer in pointer_files(root):
        fields = read_as_written(pointer)
        if fields is None:
            return None
        name, version, tree = fields
        data = pointer[: -len(SUFFIX)]
        real = os.path.realpath(data)
        if not real.startswith(root + os.sep) or not os.path.lexists(data):
            return None
        parent, base = os.path.split(data)
        if parent not in listed:
            listed[parent] = os.listdir(parent)
        leftover = f".{base}.tether-"  # of a killed checkout: the full status recovers them
        if any(n.startswith(leftover) for n in listed[parent]):
            return None
        columns = stat_columns(data)  # most data: no symlink, no special file
        fp = fingerprint(scan(data)) if columns is None else fingerprint_columns(columns)
        if not snapshots.matches(data, tree, fp):
            return None
        found.append((real[len(root) + 1 :], name, version))
    return found or None
