"""Hashing and storing files: the one routine for a file of any size, and one for many files.

``ObjectStore.put_file``/``put_tree`` and ``tether data add`` (with or without a store) all go
through :func:`ingest`. Each file is read once: a small one (up to ``SMALL`` bytes) whole,
hashed in memory and written when the store lacks it; a large one streamed, hashed while a
local folder writes it (``LocalCapabilities.put_fd``), or hashed and then uploaded when object
storage lacks it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tether.errors import InvalidInput
from tether.objects.digest import SMALL, hash_bytes, hash_fd
from tether.objects.errors import SourceChanged, UnreadableSource
from tether.objects.parallel import split_map
from tether.objects.types import ObjectInfo, Progress, no_progress

if TYPE_CHECKING:
    from tether.objects.store import ObjectStore

CHUNK_FILES = 64
"""Large (or remote) files per pool task: enough to amortise the task, few enough to balance."""


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether ``b`` is the file of ``a``, unchanged: size, mtime and inode (a walk's stat on
    Windows has no inode: 0, and then only size and mtime are compared)."""
    return (
        a.st_size == b.st_size
        and a.st_mtime_ns == b.st_mtime_ns
        and (a.st_ino == b.st_ino or not a.st_ino)
        and (a.st_dev == b.st_dev or not a.st_dev)
    )


def ingest(
    path: str,
    store: ObjectStore | None = None,
    *,
    expect: os.stat_result | None = None,
    progress: Progress = no_progress,
) -> tuple[ObjectInfo, os.stat_result]:
    """Hash the file at ``path`` (and store it in ``store`` when it lacks it); return its info
    and its stat once read.

    ``expect``: the stat a walk found; the file must still be that one, unchanged, else
    SourceChanged (also when it is gone). UnreadableSource when it cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as e:
        if expect is not None:
            raise SourceChanged(path) from None  # removed since the walk
        raise UnreadableSource(path, e.strerror or str(e)) from None
    except OSError as e:
        raise UnreadableSource(path, e.strerror or str(e)) from None
    backend = store.backend if store is not None else None
    local = store.local if store is not None else None
    try:
        try:
            if expect is None:
                expect = os.fstat(fd)
                if not stat.S_ISREG(expect.st_mode):
                    raise InvalidInput(f"{path} is not a regular file")
            before = expect
            if before.st_size <= SMALL:
                # the bytes hashed are the bytes written, so no change can slip in
                data = os.read(fd, before.st_size + 1)
                info = ObjectInfo(hash_bytes(data), len(data))
                after = os.fstat(fd)
            else:
                data = None
                if hasattr(os, "posix_fadvise"):
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
                if local is not None:  # one pass: hashed while written
                    info = local.put_fd(fd, path, os.fstat(fd), progress)
                else:
                    info = hash_fd(fd, progress)
                after = os.fstat(fd)
        except OSError as e:
            raise UnreadableSource(path, e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if info.size != before.st_size or not same_file(before, after):
        raise SourceChanged(path)
    if data is not None:
        if backend is not None and not backend.stored(info.digest, info.size):
            backend.write_bytes(info.digest, data)
        progress(info.size)
    elif backend is not None and local is None and not backend.stored(info.digest, info.size):
        backend.write_file(info.digest, path, after)
    return info, after


def ingest_many(
    paths: Sequence[str],
    store: ObjectStore | None = None,
    *,
    expect: Sequence[os.stat_result] | None = None,
    workers: int = 1,
    progress: Progress = no_progress,
) -> list[tuple[ObjectInfo, os.stat_result]]:
    """:func:`ingest` every path (``expect[i]`` the stat of ``paths[i]``), in order.

    Small files on a local disk (or with no store) are read in this thread, the rest in pool
    tasks of ``CHUNK_FILES`` files (see :func:`tether.objects.parallel.split_map`).
    """
    local = store is None or store.local is not None

    def size(i: int) -> int:
        if expect is not None:
            return expect[i].st_size
        try:
            return os.path.getsize(paths[i])
        except OSError:
            return 0  # ingest reports the error

    small: list[int] = []
    large: list[int] = []
    for i in range(len(paths)):
        (small if local and size(i) <= SMALL else large).append(i)
    chunks = [large[k : k + CHUNK_FILES] for k in range(0, len(large), CHUNK_FILES)]
    if small:
        chunks.append(small)

    def work(chunk: list[int]) -> list[tuple[int, tuple[ObjectInfo, os.stat_result]]]:
        if chunk is small and expect is not None:
            return _small_files(paths, chunk, expect, store, progress)
        return [
            (
                i,
                ingest(
                    paths[i],
                    store,
                    expect=expect[i] if expect is not None else None,
                    progress=progress,
                ),
            )
            for i in chunk
        ]

    out: list[tuple[ObjectInfo, os.stat_result] | None] = [None] * len(paths)
    for rows in split_map(work, chunks, workers, here=lambda c: c is small):
        for i, got in rows:
            out[i] = got
    return out  # type: ignore[return-value]


def _small_files(
    paths: Sequence[str],
    chunk: list[int],
    expect: Sequence[os.stat_result],
    store: ObjectStore | None,
    progress: Progress,
) -> list[tuple[int, tuple[ObjectInfo, os.stat_result]]]:
    """:func:`ingest` of small files a walk found (``expect``), in one loop: the same reads,
    checks and errors, without the per-file calls and lookups of the general case (they
    add up over 20,000 files)."""
    backend = store.backend if store is not None else None
    out = []
    for i in chunk:
        path = paths[i]
        before = expect[i]
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise SourceChanged(path) from None  # removed since the walk
        except OSError as e:
            raise UnreadableSource(path, e.strerror or str(e)) from None
        try:
            # the bytes hashed are the bytes written, so no change can slip in; the stat
            # after hashing, as ingest's: a change while it hashed is caught too
            data = os.read(fd, before.st_size + 1)
            digest = hash_bytes(data)
            after = os.fstat(fd)
        except OSError as e:
            raise UnreadableSource(path, e.strerror or str(e)) from None
        finally:
            os.close(fd)
        n = len(data)
        if n != before.st_size or not same_file(before, after):
            raise SourceChanged(path)
        if backend is not None and not backend.stored(digest, n):
            backend.write_bytes(digest, data)
        progress(n)
        out.append((i, (ObjectInfo(digest, n), after)))
    return out
