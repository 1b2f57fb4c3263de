"""The stat cache: (device, inode, size, mtime_ns) -> digest, so unchanged files are not re-hashed.

Kept in ``.tether/cache/stat.v1``: one ``marshal``-encoded dict, read whole once per command (one
C call, no per-file query) and rewritten atomically by :meth:`StatCache.save` (read again and
merged first, so concurrent commands lose nothing but cache hits), keeping the most recently
written ``KEEP_ENTRIES``. The cache is disposable: a damaged file is ignored and rebuilt.
:class:`NoStatCache` caches nothing and stands in where no workspace is at hand.

A file whose mtime is a whole second and recent is not cached: on a filesystem with coarse
timestamps a later write in the same second could leave size and mtime unchanged.
"""

from __future__ import annotations

import os
import time

from tether.data.cachefile import read_table, stamp_of, write_table

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from tether.data.cachefile import Stamp

Key = tuple[int, int]
Entry = tuple[int, int, str]  # size, mtime_ns, digest

FORMAT = 1
RACY_NS = 2_000_000_000
KEEP_ENTRIES = 100_000
"""Entries kept at most (or twice what one command wrote, if more): the most recently written.

Inodes of deleted files would otherwise pile up (a folder deleted and checked out again, a
checkout ``--to`` a new folder), and reading the cache costs about 3.5 µs an entry (428,000
entries: 1.5 s). An entry dropped too early only costs hashing its file once more."""


def cacheable(st: os.stat_result, now_ns: int | None = None) -> bool:
    """False for a coarse (whole-second) mtime that is too recent to trust."""
    if st.st_mtime_ns % 1_000_000_000:
        return True
    now = time.time_ns() if now_ns is None else now_ns
    return now - st.st_mtime_ns > RACY_NS


class NoStatCache:
    """A stat cache that caches nothing."""

    def get(self, st: os.stat_result) -> str | None:
        return None

    def put(self, st: os.stat_result, digest: str) -> None:
        return None

    def put_many(self, pairs: Iterable[tuple[os.stat_result, str]]) -> None:
        """:meth:`put` of each ``(stat, digest)``."""
        for st, digest in pairs:
            self.put(st, digest)

    def forget(self, st: os.stat_result) -> None:
        return None

    def save(self) -> None:
        return None


class StatCache(NoStatCache):
    """The persistent stat cache in ``path`` (created on first save)."""

    def __init__(self, path: Path) -> None:
        import threading  # here, not at the top: `tether data status` needs only RACY_NS

        self.path = path
        self._rows: dict[Key, Entry] | None = None
        self._stamp: Stamp | None = None  # of the file the rows were read from
        self._pending: dict[Key, Entry] = {}
        self._gone: set[Key] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_workspace(cls, tether_dir: Path) -> StatCache:
        return cls(tether_dir / "cache" / "stat.v1")

    def _load(self) -> dict[Key, Entry]:
        rows = self._rows
        if rows is None:
            with self._lock:
                if self._rows is None:
                    self._rows, self._stamp = read_table(self.path, FORMAT)
                rows = self._rows
        return rows

    def get(self, st: os.stat_result) -> str | None:
        """The digest cached for a file with this stat, or None."""
        rows = self._rows if self._rows is not None else self._load()
        hit = rows.get((st.st_dev, st.st_ino))
        if hit is None or hit[0] != st.st_size or hit[1] != st.st_mtime_ns:
            return None
        return hit[2]

    def put(self, st: os.stat_result, digest: str) -> None:
        """Remember ``digest`` for this stat (written by :meth:`save`); thread-safe."""
        if not cacheable(st):
            return
        key = (st.st_dev, st.st_ino)
        entry = (st.st_size, st.st_mtime_ns, digest)
        rows = self._load()
        with self._lock:
            if rows.get(key) != entry:
                rows[key] = entry
                self._pending[key] = entry

    def put_many(self, pairs: Iterable[tuple[os.stat_result, str]]) -> None:
        """:meth:`put` of each ``(stat, digest)``, under one lock (an add of 20,000 files
        calls this once instead of ``put`` 20,000 times)."""
        rows = self._load()
        now = time.time_ns()
        with self._lock:
            pending = self._pending
            for st, digest in pairs:
                mtime = st.st_mtime_ns
                if not mtime % 1_000_000_000 and now - mtime <= RACY_NS:
                    continue  # not cacheable (see cacheable)
                key = (st.st_dev, st.st_ino)
                entry = (st.st_size, mtime, digest)
                if rows.get(key) != entry:
                    rows[key] = entry
                    pending[key] = entry

    def forget(self, st: os.stat_result) -> None:
        """Drop the entry of a file that was deleted (a checkout replaced it), so that the cache
        does not keep growing with inodes that no longer exist; thread-safe."""
        key = (st.st_dev, st.st_ino)
        rows = self._load()
        with self._lock:
            self._gone.add(key)
            self._pending.pop(key, None)
            rows.pop(key, None)

    def save(self) -> None:
        """Merge the new entries into the file, atomically; an unwritable cache is skipped."""
        import itertools

        with self._lock:
            pending, self._pending = self._pending, {}
            gone, self._gone = self._gone, set()
            if not pending and not gone:
                return
            if self._rows is not None and stamp_of(self.path) == self._stamp:
                rows = self._rows  # nobody replaced the file since it was read: no second read
            else:
                rows, _ = read_table(self.path, FORMAT)  # merge into what others wrote
            for key in gone:
                rows.pop(key, None)
            for key, entry in pending.items():  # to the end: the dict's order is the writes'
                rows.pop(key, None)
                rows[key] = entry
            keep = max(KEEP_ENTRIES, 2 * len(pending))
            if len(rows) > keep:
                rows = dict(itertools.islice(rows.items(), len(rows) - keep, None))
            self._rows, self._stamp = rows, write_table(self.path, FORMAT, rows)
