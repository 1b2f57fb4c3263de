"""Garbage collection: remove the objects that nothing in the metadata store refers to.

:func:`collect` marks every object reachable from the store's roots (``Store.object_roots``:
dataset versions not deleted, inputs and outputs of runs not deleted, their captured diffs and
package lists, step outputs and logs, model artifacts; the members of every tree among them,
transitively), then sweeps the rest, in two passes:

1. without any lock: note the time, read the roots, list every copy (loose files with their
   times, packs with theirs) and mark;
2. holding the collection lock exclusively (:mod:`tether.objects.gclock`): read the roots again
   and mark what is new, then delete each unreferenced loose copy and compact each pack whose
   live fraction fell below ``pack_threshold`` (a new pack with the live objects is published
   before the old one goes, as ``objects repair`` does; readers retry on a vanished pack).

Only copies listed in pass 1 and written before ``start - grace`` can go: a copy written (or
renamed into place) later is kept even when unreferenced, for writers that record their
objects some time after storing them without the lock (runs, pipeline steps). Writers that hold
the lock shared from their first store to their record (``data add``, ``data pull``,
``log_artifact``) are safe even with no grace at all.

A tree that cannot be read (damaged, lost with a damaged pack) stops the collection before
anything is deleted (CollectionAborted): its members cannot be told apart from garbage.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tether.errors import InvalidInput
from tether.objects.digest import is_digest
from tether.objects.errors import (
    CollectionAborted,
    CollectionUnsupported,
    CorruptObject,
    CorruptPack,
    ObjectNotFound,
)
from tether.objects.gclock import collecting, holds_shared
from tether.objects.tree import MAGIC, Tree
from tether.objects.types import Progress, no_progress

if TYPE_CHECKING:
    from tether.objects.local import LocalBackend
    from tether.objects.pack import PackIndex
    from tether.objects.store import ObjectStore
    from tether.store import ObjectRoot, Store

DEFAULT_GRACE_S = 3600.0
"""Unreferenced objects younger than this are kept: a writer may not have recorded them yet."""

DEFAULT_PACK_THRESHOLD = 0.5
"""A pack is rewritten when less than this fraction of its bytes is still referenced."""

_FANOUT = [f"{i:02x}" for i in range(256)]


@dataclass
class GcReport:
    """What a collection kept and removed (or, with ``dry_run``, would remove)."""

    dry_run: bool
    kept: int = 0
    kept_bytes: int = 0
    young: int = 0
    """Unreferenced, but written within the grace period: kept."""
    young_bytes: int = 0
    removed: int = 0
    removed_bytes: int = 0
    """Bytes of the objects removed (freed on disk: ``freed_bytes``)."""
    left_in_packs: int = 0
    """Unreferenced objects kept because their packs are still mostly referenced."""
    left_in_packs_bytes: int = 0
    freed_bytes: int = 0
    """Bytes of files deleted: loose copies, and what compaction took out of packs."""
    packs_compacted: int = 0
    packs_removed: int = 0
    absent: int = 0
    """Referenced objects not stored here (versions registered from a remote, say)."""
    temporaries: int = 0
    removed_objects: list[tuple[str, int]] = field(default_factory=list)
    """``(digest, size)`` of each object removed, or that would be."""


@dataclass
class _Copies:
    """Every copy of one stored object found by the listing."""

    size: int
    loose_time: float | None = None  # max(mtime, ctime) of the loose file
    packs: list[str] = field(default_factory=list)  # names of the packs holding it


@dataclass
class _Listing:
    objects: dict[str, _Copies]
    packs: dict[str, PackIndex]
    pack_times: dict[str, float]


def _time(st: os.stat_result) -> float:
    # a rename or chmod sets ctime: an object renamed into place is as new as its rename
    return max(st.st_mtime, st.st_ctime)


def _list(backend: LocalBackend, progress: Progress) -> _Listing:
    """Every copy in a local store, one ``scandir`` per fan-out folder and one look at packs."""
    backend.packs.indexes()  # lists the packs again
    damaged = backend.packs.damaged()
    if damaged:
        path, why = sorted(damaged.items())[0]
        raise CollectionAborted(f"pack {path} is damaged ({why}), so its objects are unknown")
    objects: dict[str, _Copies] = {}
    for prefix in _FANOUT:
        try:
            entries = list(os.scandir(os.path.join(backend.root, prefix)))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            digest = prefix + entry.name
            if not is_digest(digest):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            objects[digest] = _Copies(st.st_size, _time(st))
        progress(len(entries))
    packs: dict[str, PackIndex] = {}
    times: dict[str, float] = {}
    for index in backend.packs.indexes():
        base = os.path.join(backend.packs.folder, index.name)
        try:
            times[index.name] = max(_time(os.stat(base + ".pack")), _time(os.stat(base + ".idx")))
        except FileNotFoundError:
            continue  # removed meanwhile
        packs[index.name] = index
        for raw, size in zip(index.digests, index.sizes, strict=True):
            copies = objects.setdefault(raw.hex(), _Copies(size))
            copies.packs.append(index.name)
        progress(len(index))
    return _Listing(objects, packs, times)


class _Marker:
    """The set of referenced digests, grown root by root; trees are read once each."""

    def __init__(self, objects: ObjectStore, stored: dict[str, _Copies], trees: set[str]):
        self.objects = objects
        self.stored = stored
        self.known_trees = trees
        self.live: set[str] = set()
        self.protected: set[str] = set()  # files of trees within the grace period
        self.expanded: set[str] = set()
        self.absent: set[str] = set()

    def mark(self, roots: Iterable[ObjectRoot], progress: Progress) -> None:
        self.objects.backend.packs.refresh(force=True)  # type: ignore[attr-defined]
        for root in roots:
            digest = root.digest
            if not is_digest(digest):
                continue
            progress(1)
            self.live.add(digest)
            if digest in self.expanded:
                continue
            if digest not in self.stored and not self._stored_now(digest):
                self.absent.add(digest)
                continue
            self.absent.discard(digest)
            sure = root.tree is True or (root.tree is None and digest in self.known_trees)
            if sure or (root.tree is None and self._looks_like_tree(digest, root.what)):
                self._expand(digest, root.what, sure=sure)

    def protect(self, digests: Iterable[str]) -> None:
        """Keep the members of the trees among ``digests`` (objects within the grace period:
        a writer may record such a tree later, relying on its files, however old they are)."""
        for digest in digests:
            if digest in self.expanded:
                continue
            try:
                with self.objects.backend.open(digest) as f:
                    if bytes(f.read(len(MAGIC))) != MAGIC:
                        continue
            except ObjectNotFound:
                continue  # removed meanwhile: nothing to keep
            self._expand(digest, f"the recent tree {digest}", sure=False, into=self.protected)

    def _stored_now(self, digest: str) -> bool:
        """Stored since the listing (by a writer that recorded it since: its tree's members
        may be older copies, listed and otherwise unreferenced)."""
        backend: LocalBackend = self.objects.backend  # type: ignore[assignment]
        try:  # the packs were listed when this pass began: one lookup each, no listing
            return (
                os.path.exists(backend.path(digest))
                or backend.packs.locate(digest, fresh=False) is not None
            )
        except OSError:
            return True  # cannot tell: read it, and stop if it cannot be read

    def _looks_like_tree(self, digest: str, what: str) -> bool:
        try:
            with self.objects.backend.open(digest) as f:
                return bytes(f.read(len(MAGIC))) == MAGIC
        except ObjectNotFound as e:  # listed, but unreadable: a lost packed copy
            raise CollectionAborted(f"object {digest} ({what}) cannot be read: {e}") from None

    def _expand(self, digest: str, what: str, *, sure: bool, into: set[str] | None = None) -> None:
        """Mark a tree's members (and their members, for members that are trees)."""
        keep = self.live if into is None else into
        pending = [(digest, what, sure)]
        while pending:
            digest, what, sure = pending.pop()
            if digest in self.expanded:
                continue
            self.expanded.add(digest)
            try:
                tree = Tree.from_bytes(self.objects.get_bytes(digest))
            except (CorruptObject, ObjectNotFound, CorruptPack) as e:
                raise CollectionAborted(f"tree {digest} of {what} cannot be read: {e}") from None
            except InvalidInput as e:
                if not sure:  # a file that only starts like a tree
                    continue
                raise CollectionAborted(f"tree {digest} of {what} is damaged: {e}") from None
            for entry in tree.entries:
                member = entry.digest
                keep.add(member)
                if member in self.known_trees and (
                    member in self.stored or self._stored_now(member)
                ):
                    pending.append((member, f"{what} ({entry.path})", True))


def collect(
    objects: ObjectStore,
    store: Store,
    *,
    grace_s: float = DEFAULT_GRACE_S,
    dry_run: bool = False,
    pack_threshold: float = DEFAULT_PACK_THRESHOLD,
    progress: Progress | None = None,
) -> GcReport:
    """Remove the objects of ``objects`` that no root of ``store`` reaches (see the module).

    ``progress`` advances by one per object listed, root marked and object swept.
    """
    if grace_s < 0:
        raise InvalidInput(f"grace must be zero or more seconds, not {grace_s}")
    if not 0.0 <= pack_threshold <= 1.0:
        raise InvalidInput(f"pack threshold must be between 0 and 1, not {pack_threshold}")
    if not objects.is_local:
        raise CollectionUnsupported(objects.url)
    if not dry_run and holds_shared():
        raise InvalidInput("cannot collect garbage while this thread is storing objects")
    report_progress = progress or no_progress
    backend: LocalBackend = objects.backend  # type: ignore[assignment]
    cutoff = time.time() - grace_s
    roots = store.object_roots()
    listing = _list(backend, report_progress)
    marker = _Marker(objects, listing.objects, store.tree_digests())
    marker.mark(roots, report_progress)
    marker.protect(_young(listing, cutoff))
    if dry_run:
        return _sweep(backend, listing, marker, cutoff, pack_threshold, True, report_progress)
    with collecting(objects):
        # writers that stored before now have recorded by now: their roots are new
        marker.known_trees |= store.tree_digests()
        marker.mark(store.object_roots(), report_progress)
        # trees stored since the listing, by writers that record later, keep their files
        marker.protect(_list(backend, report_progress).objects.keys() - listing.objects.keys())
        report = _sweep(backend, listing, marker, cutoff, pack_threshold, False, report_progress)
    report.temporaries = backend.sweep_temporaries()
    return report


def _young(listing: _Listing, cutoff: float) -> list[str]:
    """The listed objects with a copy written within the grace period."""
    young_packs = {name for name, t in listing.pack_times.items() if t >= cutoff}
    return [
        d
        for d, c in listing.objects.items()
        if (c.loose_time is not None and c.loose_time >= cutoff) or young_packs & set(c.packs)
    ]


def _sweep(
    backend: LocalBackend,
    listing: _Listing,
    marker: _Marker,
    cutoff: float,
    threshold: float,
    dry_run: bool,
    progress: Progress,
) -> GcReport:
    report = GcReport(dry_run=dry_run, absent=len(marker.absent))
    live = marker.live
    garbage: dict[str, _Copies] = {}
    for digest, copies in listing.objects.items():
        progress(1)
        if digest in live:
            report.kept += 1
            report.kept_bytes += copies.size
        elif (
            digest in marker.protected
            or (copies.loose_time is not None and copies.loose_time >= cutoff)
            or any(listing.pack_times[p] >= cutoff for p in copies.packs)
        ):
            report.young += 1
            report.young_bytes += copies.size
        else:
            garbage[digest] = copies
    compact = _packs_to_compact(listing, garbage, threshold)
    gone: set[str] = set()
    for digest, copies in garbage.items():
        if all(p in compact for p in copies.packs):
            if (
                copies.loose_time is not None
                and not dry_run
                and not _unlink_if_old(backend, digest, cutoff)
            ):
                continue  # written again since the listing: now young
            gone.add(digest)
            report.removed += 1
            report.removed_bytes += copies.size
            report.removed_objects.append((digest, copies.size))
            if copies.loose_time is not None:
                report.freed_bytes += copies.size
        else:
            if copies.loose_time is not None and (
                dry_run or _unlink_if_old(backend, digest, cutoff)  # the packed copy stays
            ):
                report.freed_bytes += copies.size
            report.left_in_packs += 1
            report.left_in_packs_bytes += copies.size
    for name in sorted(compact):
        index = listing.packs[name]
        drop = {raw for raw in index.digests if raw.hex() in gone}
        kept = sum(s for raw, s in zip(index.digests, index.sizes, strict=True) if raw not in drop)
        if not dry_run and not _compact(backend, index, drop):
            continue
        report.freed_bytes += sum(index.sizes) - kept
        if len(drop) < len(index):
            report.packs_compacted += 1
        else:
            report.packs_removed += 1
    if not dry_run and gone:
        bad = backend.known_bad()
        if bad & gone:
            backend.set_known_bad(bad - gone)
    report.removed_objects.sort()
    return report


def _packs_to_compact(listing: _Listing, garbage: dict[str, _Copies], threshold: float) -> set[str]:
    """The packs whose referenced (or young) bytes fall below ``threshold`` of their bytes."""
    dead: dict[str, int] = {}
    for copies in garbage.values():
        for name in copies.packs:
            dead[name] = dead.get(name, 0) + copies.size
    out = set()
    for name, dead_bytes in dead.items():
        total = sum(listing.packs[name].sizes)
        if total == 0 or (total - dead_bytes) / total < threshold or dead_bytes == total:
            out.add(name)
    return out


def _unlink_if_old(backend: LocalBackend, digest: str, cutoff: float) -> bool:
    """Delete the loose copy unless it was written again since it was listed."""
    path = backend.path(digest)
    try:
        if _time(os.stat(path)) >= cutoff:
            return False
        os.unlink(path)
    except FileNotFoundError:
        pass  # removed meanwhile (another collection, a repair)
    except OSError as e:
        from tether.objects.errors import ObjectsNotWritable

        raise ObjectsNotWritable(backend.root, e.strerror or str(e)) from None
    return True


def _compact(backend: LocalBackend, index: PackIndex, drop: set[bytes]) -> bool:
    """Rewrite ``index``'s pack without ``drop`` (or remove it); False when it is gone."""
    if not os.path.exists(os.path.join(backend.packs.folder, index.name + ".idx")):
        return False
    with contextlib.suppress(FileNotFoundError):
        backend.rewrite_pack_without(index, drop)
        return True
    return False
