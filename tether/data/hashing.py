"""Digests of the scanned files: from the stat cache when unchanged, else hashed in parallel.

With an object store, files not yet stored are stored in the same pass (each read once).
A file whose size, mtime or inode after it was read differs from what the walk found raises
:class:`FileChanged` (it was changed or replaced since the walk).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tether.data.errors import FileChanged, UnreadableFile
from tether.data.statcache import NoStatCache
from tether.data.walk import Found
from tether.objects.digest import SMALL, hash_bytes, hash_fd
from tether.objects.parallel import split_map
from tether.objects.tree import EXEC_MODE, FILE_MODE
from tether.objects.types import ObjectInfo, Progress, no_progress

if TYPE_CHECKING:
    from tether.objects import ObjectStore

CHUNK_FILES = 64
"""Files per pool task: enough to amortise the task overhead, few enough to balance."""


@dataclass
class Hashed:
    entries: list[tuple[str, str, int, int]]
    """(path, digest, size, mode) per scanned file, in scan order (plain tuples: cheap)."""
    stored: list[ObjectInfo]
    """Objects this pass wrote (or re-checked) in the object store."""
    hashed: int
    """Files read (the rest came from the stat cache)."""


def default_workers() -> int:
    return min(32, (os.cpu_count() or 1) * 4)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether ``b`` is the file of ``a``, unchanged: size, mtime and inode (a walk's stat on
    Windows has no inode: 0, and then only size and mtime are compared)."""
    return (
        a.st_size == b.st_size
        and a.st_mtime_ns == b.st_mtime_ns
        and (a.st_ino == b.st_ino or not a.st_ino)
        and (a.st_dev == b.st_dev or not a.st_dev)
    )


def _read(found: Found) -> tuple[ObjectInfo, os.stat_result, bytes | None]:
    """Hash one file; return its info, its stat and (for small files) its bytes.

    The file must be the one the walk found, unchanged: its stat after reading (one
    ``fstat``) must equal the walk's (size, mtime and inode), else :class:`FileChanged`.
    """
    before = found.stat
    try:
        fd = os.open(found.source, os.O_RDONLY)
    except FileNotFoundError:
        raise FileChanged(found.source) from None  # removed since the walk
    except OSError as e:
        raise UnreadableFile(found.source, e.strerror or str(e)) from None
    try:
        if before.st_size <= SMALL:
            data = os.read(fd, before.st_size + 1)
            info = ObjectInfo(hash_bytes(data), len(data))
        else:
            data = None
            info = hash_fd(fd)
        after = os.fstat(fd)
    except OSError as e:
        raise UnreadableFile(found.source, e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if info.size != before.st_size or not _same(before, after):
        raise FileChanged(found.source)
    return info, after, data


def _store(objects: ObjectStore, found: Found) -> tuple[ObjectInfo, os.stat_result]:
    info, st, data = _read(found)
    if data is not None:
        objects.put_bytes(data, digest=info.digest)
        return info, st
    stored = objects.put_file(found.source)  # large: streamed again, checked by the store
    try:
        now = os.stat(found.source)
    except FileNotFoundError:
        raise FileChanged(found.source) from None
    except OSError as e:
        raise UnreadableFile(found.source, e.strerror or str(e)) from None
    if stored.digest != info.digest or not _same(st, now):
        raise FileChanged(found.source)
    return info, st


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
    stored: list[ObjectInfo] = []

    def work(chunk: list[int]) -> list[tuple[int, ObjectInfo, os.stat_result]]:
        out = []
        for i in chunk:
            if objects is not None:
                info, st = _store(objects, files[i])
            else:
                info, st, _ = _read(files[i])
            progress(info.size)
            out.append((i, info, st))
        return out

    # small files on a local disk in this thread, the rest in CHUNK_FILES-sized pool tasks
    local = objects is None or objects.is_local
    small = [i for i in todo if local and stats[i].st_size <= SMALL]
    large = [i for i in todo if not (local and stats[i].st_size <= SMALL)]
    chunks = [large[k : k + CHUNK_FILES] for k in range(0, len(large), CHUNK_FILES)]
    if small:
        chunks.append(small)
    done = split_map(work, chunks, workers or default_workers(), here=lambda c: c is small)
    for i, info, st in (r for rows in done for r in rows):
        digests[i] = info.digest
        stats[i] = st
        cache.put(st, info.digest)
        if objects is not None:
            stored.append(info)
    entries = [
        (f.path, d, st.st_size, EXEC_MODE if st.st_mode & 0o111 else FILE_MODE)
        for f, d, st in zip(files, digests, stats, strict=True)
        if d is not None
    ]
    return Hashed(entries, stored, hashed)
