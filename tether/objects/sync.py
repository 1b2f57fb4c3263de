"""Copying objects between stores: the one transfer engine (push, pull, ``transfer``).

Only what the destination lacks is copied, in parallel, and every copy is verified on the way:
bytes are re-hashed, and the destination checks the size (object storage) or files what it
wrote under the digest it computed (local folder). Copies land in chunks: each chunk is
committed before the next starts (one filesystem sync per chunk on a local folder; every
object is atomic on object storage), so an interrupted copy keeps what it had finished and a
re-run copies only what is still missing. Small objects to or from object storage go in
concurrent batches (one fsspec call for many requests); between two local folders they are
copied in this thread (see :func:`tether.objects.parallel.split_map`).

What to copy (which dataset versions, their records) is the caller's business:
:mod:`tether.data.remote` plans a push or pull and hands the digests here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from tether.errors import InvalidInput
from tether.objects.digest import SMALL, check_digest, hash_bytes, hash_fd
from tether.objects.errors import CorruptObject, ObjectNotFound
from tether.objects.parallel import pmap, split_map
from tether.objects.store import ObjectStore
from tether.objects.tree import MAGIC, Tree
from tether.objects.types import Progress, no_progress

CHUNK_OBJECTS = 4096
"""Objects committed together: an interruption loses at most one chunk of finished copies."""

CHUNK_BYTES = 512 * 1024 * 1024
"""...or this many bytes, whichever comes first."""

BATCH_OBJECTS = 32
"""Small objects (up to ``SMALL`` bytes) sent to or fetched from object storage in one call;
fsspec keeps the requests of a call in flight together, and the call ends with its slowest.

Measured against the moto server, 20,000 objects of 50 KiB: 256 a call and 4 calls at a time
took 66.5-72.8 s; 32 and 8 at a time 59.0-61.1 s (16 x 16: 58.0 s, 64 x 8: 59.3 s); 5,000
objects of 1 KiB: 14.8-15.3 s against 13.7-15.0 s."""

BATCH_BYTES = 16 * 1024 * 1024
"""...or this many bytes, whichever comes first (a batch is held in memory)."""

BATCH_THREADS = 8
"""Batches in flight at once: up to ``8 * BATCH_OBJECTS`` requests."""


@dataclass(frozen=True)
class TransferReport:
    """What a transfer did: objects copied (and their bytes) and objects already there."""

    copied: int
    skipped: int
    bytes: int


# -- what to copy --------------------------------------------------------------------------


def tree_or_none(store: ObjectStore, digest: str) -> Tree | None:
    """The tree stored under ``digest``, or None when the object is a plain file."""
    with store.open_unchecked(digest) as f:
        if f.read(len(MAGIC)) != MAGIC:
            return None
    try:
        return store.read_tree(digest)
    except InvalidInput:
        return None


def expand_trees(store: ObjectStore, digests: Iterable[str]) -> tuple[set[str], set[str]]:
    """Split ``digests`` into (trees, files), adding every member of each tree to files."""
    trees, files = _expand(store, digests)
    return set(trees), set(files)


def _expand(store: ObjectStore, digests: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """``({tree: size}, {file: size})`` of ``digests`` and the members of their trees."""
    wanted = sorted({check_digest(d) for d in digests})
    trees: dict[str, int] = {}
    files: dict[str, int] = {}
    plain: list[str] = []
    for digest, tree in zip(
        wanted, pmap(lambda d: tree_or_none(store, d), wanted, store.workers), strict=True
    ):
        if tree is None:
            plain.append(digest)
        else:
            trees[digest] = len(tree.to_bytes())
            files.update((e.digest, e.size) for e in tree.entries)
    for digest in plain:
        if digest not in files:
            files[digest] = store.info(digest).size
    for digest in trees:
        files.pop(digest, None)
    return trees, files


def transfer(
    src: ObjectStore,
    dst: ObjectStore,
    digests: Iterable[str],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> TransferReport:
    """Copy the objects (and the members of trees) that ``dst`` lacks from ``src``.

    Files go before the trees that list them, so ``dst`` never holds a tree with missing
    members. ``progress`` advances by bytes copied (from many threads).
    """
    report = progress or no_progress
    trees, files = _expand(src, digests)
    copied = nbytes = 0
    for group in (files, trees):
        n, b = copy_objects(
            src, dst, sorted(dst.missing(group)), group, workers=workers, progress=report
        )
        copied += n
        nbytes += b
    return TransferReport(copied=copied, skipped=len(trees) + len(files) - copied, bytes=nbytes)


# -- copying -------------------------------------------------------------------------------


def groups(
    digests: Sequence[str], sizes: Mapping[str, int], max_objects: int, max_bytes: int
) -> Iterator[list[str]]:
    """``digests`` in order, cut into groups of at most ``max_objects`` or about ``max_bytes``."""
    group: list[str] = []
    total = 0
    for d in digests:
        group.append(d)
        total += sizes[d]
        if len(group) >= max_objects or total >= max_bytes:
            yield group
            group, total = [], 0
    if group:
        yield group


def copy_objects(
    src: ObjectStore,
    dst: ObjectStore,
    digests: Sequence[str],
    sizes: Mapping[str, int],
    *,
    workers: int | None = None,
    progress: Progress = no_progress,
) -> tuple[int, int]:
    """Copy ``digests`` (which ``dst`` lacks; ``sizes[d]`` their sizes) in committed chunks;
    return how many objects and bytes were copied. ``progress`` advances by bytes copied.

    ObjectNotFound when ``src`` lacks one (the chunks before it stay copied).
    """
    threads = workers if workers and workers > 0 else max(src.workers, dst.workers)

    def copy(digest: str) -> int:
        size = copy_object(src, dst, digest)
        progress(size)
        return size

    def copy_many(batch: list[str]) -> list[int]:
        """Small objects to or from object storage: one concurrent batch each way."""
        data = src.backend.read_many(batch)
        for digest, blob in data.items():
            _check(digest, hash_bytes(blob), src.url)
        dst.backend.write_many(data)
        got = [len(data[d]) for d in batch]
        progress(sum(got))
        return got

    local = src.local is not None and dst.local is not None
    copied = nbytes = 0
    for chunk in groups(digests, sizes, CHUNK_OBJECTS, CHUNK_BYTES):
        with dst.batch():
            if local:  # see split_map: small local copies go faster in this thread
                done = split_map(copy, chunk, threads, here=lambda d: sizes[d] <= SMALL)
            else:
                small = [d for d in chunk if sizes[d] <= SMALL]
                large = [d for d in chunk if sizes[d] > SMALL]
                batches = list(groups(small, sizes, BATCH_OBJECTS, BATCH_BYTES))
                done = pmap(copy, large, threads)
                for got in pmap(copy_many, batches, BATCH_THREADS):
                    done += got
        copied += len(done)
        nbytes += sum(done)
    return copied, nbytes


def write_objects(
    dst: ObjectStore,
    blobs: Mapping[str, bytes],
    *,
    workers: int | None = None,
    progress: Progress = no_progress,
) -> tuple[int, int]:
    """Store small objects already read and verified elsewhere (tree manifests read while
    planning), in one batch; return how many objects and bytes."""
    threads = workers if workers and workers > 0 else dst.workers

    def write(digest: str) -> int:
        data = blobs[digest]
        dst.backend.write_bytes(digest, data)
        progress(len(data))
        return len(data)

    with dst.batch():
        done = pmap(write, sorted(blobs), threads)
    return len(done), sum(done)


def copy_present(src: ObjectStore, dst: ObjectStore, digests: Sequence[str]) -> TransferReport:
    """Copy the small objects (tree manifests) among ``digests`` that ``src`` holds and
    ``dst`` lacks; ``skipped`` counts those already in ``dst`` (not those ``src`` lacks)."""
    need = dst.missing(digests)
    there = sorted(need - src.missing(need))
    data = src.backend.read_many(there)
    for digest, blob in data.items():
        _check(digest, hash_bytes(blob), src.url)
    with dst.batch():
        dst.backend.write_many(data)
    nbytes = sum(len(b) for b in data.values())
    return TransferReport(copied=len(data), skipped=len(digests) - len(need), bytes=nbytes)


def copy_object(src: ObjectStore, dst: ObjectStore, digest: str) -> int:
    """Copy one object, verifying its bytes on the way; return its size.

    From a local store each file is read once: small ones are hashed in memory and written,
    large ones are hashed while a local destination writes them. A local destination files what
    it writes under the digest it computed, so a corrupt source can never be stored under the
    digest it should have had.
    """
    path = src.local.local_path(digest) if src.local is not None else None
    if path is None and src.local is not None:  # packed (or absent: ObjectNotFound)
        data = src.backend.read_many([digest])[digest]
        _check(digest, hash_bytes(data), src.url)
        dst.backend.write_bytes(digest, data)
        return len(data)
    if path is None:
        with src.backend.open(digest) as reader:
            return dst.backend.write_stream(digest, reader, src.url)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise ObjectNotFound(digest, src.url) from None
    try:
        st = os.fstat(fd)
        if st.st_size <= SMALL:
            data = os.read(fd, st.st_size + 1)
            _check(digest, hash_bytes(data), src.url)
            dst.backend.write_bytes(digest, data)
            return len(data)
        if dst.local is not None:
            info = dst.local.put_fd(fd, path, st)
            _check(digest, info.digest, src.url)
            return info.size
        info = hash_fd(fd)
    finally:
        os.close(fd)
    _check(digest, info.digest, src.url)
    dst.backend.write_file(digest, path, st)
    return info.size


def _check(expected: str, actual: str, url: str) -> None:
    if actual != expected:
        raise CorruptObject(expected, url, expected=f"digest {expected}", actual=f"digest {actual}")
