"""Digests of the scanned files: from the stat cache when unchanged, else hashed in parallel.

Which files to read is decided here (the stat cache, and the store's missing objects); reading,
hashing and storing them is the object layer's (:func:`tether.objects.ingest.ingest_many`):
with an object store, files not yet stored are stored in the same pass (each read once). A file
whose size, mtime or inode after it was read differs from what the walk found raises
:class:`FileChanged` (it was changed or replaced since the walk).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tether.data.errors import FileChanged, UnreadableFile
from tether.data.statcache import NoStatCache
from tether.objects.errors import SourceChanged, UnreadableSource
from tether.objects.ingest import ingest_many
from tether.objects.parallel import default_workers
from tether.objects.tree import EXEC_MODE, FILE_MODE
from tether.objects.types import ObjectInfo, Progress, no_progress
from tether.objects.walk import Found

if TYPE_CHECKING:
    from tether.objects import ObjectStore


@dataclass
class Hashed:
    entries: list[tuple[str, str, int, int]]
    """(path, digest, size, mode) per scanned file, in scan order (plain tuples: cheap)."""
    stored: list[ObjectInfo]
    """Objects this pass wrote (or re-checked) in the object store."""
    hashed: int
    """Files read (the rest came from the stat cache)."""


def digest_files(
    files: Sequence[Found],
    cache: NoStatCache,
    *,
    objects: ObjectStore | None = None,
    workers: int | None = None,
    progress: Progress = no_progress,
) -> Hashed:
    """Digest every file; with ``objects``, also store every file the store lacks."""
    digests: list[str | None] = [cache.get(f.stat) for f in files]
    stats: list[os.stat_result] = [f.stat for f in files]
    todo = [i for i, d in enumerate(digests) if d is None]
    hashed = len(todo)
    if objects is not None:
        # with sizes: a stored copy of another size (damaged) is stored again
        known = {d: f.stat.st_size for d, f in zip(digests, files, strict=True) if d is not None}
        absent = objects.missing(known) if known else set()
        if absent:
            todo += [i for i, d in enumerate(digests) if d in absent]
    try:
        got = ingest_many(
            [files[i].source for i in todo],
            objects,
            expect=[files[i].stat for i in todo],
            workers=workers or default_workers(),
            progress=progress,
        )
    except SourceChanged as e:
        raise FileChanged(e.path) from None
    except UnreadableSource as e:
        raise UnreadableFile(e.path, e.reason) from None
    stored: list[ObjectInfo] = []
    for i, (info, st) in zip(todo, got, strict=True):
        digests[i] = info.digest
        stats[i] = st
        if objects is not None:
            stored.append(info)
    cache.put_many((st, info.digest) for info, st in got)
    entries = [
        (f.path, d, st.st_size, EXEC_MODE if st.st_mode & 0o111 else FILE_MODE)
        for f, d, st in zip(files, digests, stats, strict=True)
        if d is not None
    ]
    return Hashed(entries, stored, hashed)
