"""Copying objects between stores (push and pull): only what the destination lacks."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from tether.errors import InvalidInput
from tether.objects.digest import check_digest, hash_file
from tether.objects.errors import CorruptObject
from tether.objects.parallel import pmap
from tether.objects.store import ObjectStore
from tether.objects.tree import MAGIC, Tree
from tether.objects.types import Progress, no_progress


@dataclass(frozen=True)
class TransferReport:
    """What a transfer did: objects copied (and their bytes) and objects already there."""

    copied: int
    skipped: int
    bytes: int


def tree_or_none(store: ObjectStore, digest: str) -> Tree | None:
    """The tree stored under ``digest``, or None when the object is a plain file."""
    with store.backend.open(digest) as f:
        if f.read(len(MAGIC)) != MAGIC:
            return None
    try:
        return store.read_tree(digest)
    except InvalidInput:
        return None


def expand_trees(store: ObjectStore, digests: Iterable[str]) -> tuple[set[str], set[str]]:
    """Split ``digests`` into (trees, files), adding every member of each tree to files."""
    wanted = sorted({check_digest(d) for d in digests})
    trees: set[str] = set()
    files: set[str] = set()
    for digest, tree in zip(
        wanted, pmap(lambda d: tree_or_none(store, d), wanted, store.workers), strict=True
    ):
        if tree is None:
            files.add(digest)
        else:
            trees.add(digest)
            files.update(e.digest for e in tree.entries)
    return trees, files - trees


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
    members. Every copy is verified: bytes are re-hashed on the way and the destination
    checks the size (object storage) or the digest (local folder) before the object appears.
    ``progress`` advances by one per object examined.
    """
    report = progress or no_progress
    threads = workers if workers and workers > 0 else max(src.workers, dst.workers)
    trees, files = expand_trees(src, digests)
    copied_bytes = 0
    copied = 0
    skipped = 0
    for group in (files, trees):
        need = dst.missing(group)
        skipped += len(group) - len(need)
        report(len(group) - len(need))

        def copy(digest: str) -> int:
            size = _copy_one(src, dst, digest)
            report(1)
            return size

        with dst.backend.batch():
            sizes = pmap(copy, sorted(need), threads)
        copied += len(sizes)
        copied_bytes += sum(sizes)
    return TransferReport(copied=copied, skipped=skipped, bytes=copied_bytes)


def _copy_one(src: ObjectStore, dst: ObjectStore, digest: str) -> int:
    path = src.backend.local_path(digest)
    if path is not None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return src.info(digest).size  # raises ObjectNotFound
        info = hash_file(path)
        if info.digest != digest:
            raise CorruptObject(
                digest, src.url, expected=f"digest {digest}", actual=f"digest {info.digest}"
            )
        dst.backend.write_file(digest, path, st)
        return info.size
    with src.backend.open(digest) as reader:
        return dst.backend.write_stream(digest, reader, src.url)
