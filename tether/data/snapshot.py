"""Fingerprints of data folders as ``stat`` sees them, so that an unchanged folder is known to
match its version without looking up a single digest.

A fingerprint is the BLAKE3 digest of every file's (path, size, mtime_ns, inode, mode), in the
order the walk found them. When a folder is known to hold exactly the tree of a version (it was just
added, or a full status found it clean), its fingerprint is saved with that tree's digest in
``.tether/cache/snapshots.v1``. ``status`` then walks the folder, fingerprints it and, when the
fingerprint and the tree both match, is done: no stat-cache load, no manifest read. Any change
of a file's size, mtime or inode (an edit, a rename, a re-creation) changes the fingerprint, and
the full comparison runs. Fingerprints of files with racy (too recent, whole-second) mtimes are
not saved, for the same reason as the stat cache's.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import time
from collections.abc import Sequence
from pathlib import Path

from tether.config.atomic import write_bytes_atomic
from tether.data.statcache import RACY_NS
from tether.data.walk import Found
from tether.objects.digest import hash_bytes

FORMAT = 1
MAX_ENTRIES = 10_000


def fingerprint(files: Sequence[Found]) -> str | None:
    """The fingerprint of scanned files; None when an mtime is too recent to trust."""
    # In walk order, not sorted: a folder lists its entries in the same order while it is
    # unchanged; an order that changes anyway only costs one full comparison.
    rows = [
        (f.path, f.stat.st_size, f.stat.st_mtime_ns, f.stat.st_ino, f.stat.st_mode) for f in files
    ]
    now = time.time_ns()
    recent = [r[2] for r in rows if now - r[2] <= RACY_NS]  # usually none
    if any(mtime % 1_000_000_000 == 0 for mtime in recent):
        return None  # a whole-second mtime this recent may hide a later write
    return hash_bytes(marshal.dumps((FORMAT, rows)))


class Snapshots:
    """``data path -> (tree digest, fingerprint)`` for one workspace; small, read whole."""

    def __init__(self, tether_dir: Path) -> None:
        self.path = tether_dir / "cache" / "snapshots.v1"

    def _read(self) -> dict[str, tuple[str, str]]:
        try:
            with open(self.path, "rb") as f:
                doc = marshal.load(f)
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if (
            isinstance(doc, tuple)
            and len(doc) == 2
            and doc[0] == FORMAT
            and isinstance(doc[1], dict)
        ):
            return doc[1]
        return {}

    def matches(self, data: Path, tree: str, fp: str | None) -> bool:
        return fp is not None and self._read().get(os.path.realpath(data)) == (tree, fp)

    def save(self, data: Path, tree: str, fp: str | None) -> None:
        """Remember that ``data`` held ``tree`` while it had fingerprint ``fp``; best effort."""
        if fp is None:
            return
        rows = self._read()
        if len(rows) >= MAX_ENTRIES:
            rows = {}
        rows[os.path.realpath(data)] = (tree, fp)
        with contextlib.suppress(OSError):  # only a cache: the next status compares in full
            write_bytes_atomic(self.path, marshal.dumps((FORMAT, rows)), durable=False)
