"""Checking a local store copy by copy, and repairing it by dropping what is damaged.

:func:`check` re-hashes every loose file and every packed object separately (a damaged packed
copy hidden behind a good loose one is found too), and lists the packs that lost objects: an
unreadable index, a missing or cut-short pack file. :func:`repair` drops each damaged copy,
rewriting a damaged pack with the objects it still holds intact (a new pack, then the old one
removed), so that the next ``add`` or ``pull`` stores them again.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from tether.objects.digest import hash_bytes, hash_file
from tether.objects.local import LocalBackend
from tether.objects.pack import PackIndex
from tether.objects.parallel import pmap
from tether.objects.types import Progress, no_progress


@dataclass
class Damage:
    """What :func:`check` found in a local store."""

    ok: int = 0
    bad_loose: list[str] = field(default_factory=list)
    """Loose files whose bytes do not hash to their name."""
    bad_packed: dict[str, list[bytes]] = field(default_factory=dict)
    """Pack name -> raw digests of its objects that do not hash to their digest."""
    lost: dict[str, list[bytes]] = field(default_factory=dict)
    """Pack name -> raw digests past the end of its (cut-short or missing) pack file."""
    packs: dict[str, str] = field(default_factory=dict)
    """Damaged pack or index path -> why."""
    indexes: dict[str, PackIndex] = field(default_factory=dict)

    def corrupt(self) -> set[str]:
        out = set(self.bad_loose)
        for raws in self.bad_packed.values():
            out.update(r.hex() for r in raws)
        return out

    def unreadable(self, readable: set[str]) -> set[str]:
        """The lost digests that no other copy (in ``readable``) serves."""
        return {r.hex() for raws in self.lost.values() for r in raws} - readable


def check(backend: LocalBackend, workers: int, progress: Progress = no_progress) -> Damage:
    """Re-hash every copy in the store; ``progress`` advances by one per copy."""
    damage = Damage()
    packs = backend.packs
    indexes = packs.indexes()  # lists again, and notes unreadable indexes
    damage.packs = packs.damaged()
    damage.indexes = {i.name: i for i in indexes}

    def check_loose(digest: str) -> tuple[str, bool]:
        try:
            ok = hash_file(backend.path(digest)).digest == digest
        except FileNotFoundError:  # removed meanwhile (gc): nothing to check
            ok = True
        progress(1)
        return digest, ok

    def check_pack(index: PackIndex) -> tuple[list[bytes], list[bytes], int]:
        bad: list[bytes] = []
        lost: list[bytes] = []
        ok = 0
        for i, raw in enumerate(index.digests):
            if not index.readable(i):
                lost.append(raw)
            else:
                try:
                    data = packs.read(index, i)
                except (OSError, ValueError):  # cut short since it was listed
                    lost.append(raw)
                    continue
                if hash_bytes(data) == raw.hex():
                    ok += 1
                else:
                    bad.append(raw)
            progress(1)
        return bad, lost, ok

    for digest, whole in pmap(check_loose, list(backend.loose()), workers):
        if whole:
            damage.ok += 1
        else:
            damage.bad_loose.append(digest)
    for index, (bad, lost, ok) in zip(indexes, pmap(check_pack, indexes, workers), strict=True):
        damage.ok += ok
        if bad:
            damage.bad_packed[index.name] = bad
        if lost:
            damage.lost[index.name] = lost
    damage.bad_loose.sort()
    return damage


@dataclass(frozen=True)
class RepairReport:
    """What :func:`repair` dropped."""

    dropped: list[str]
    """Digests of the damaged copies removed (loose files and packed objects)."""
    packs: list[str]
    """Packs rewritten without their damaged objects, or removed."""
    temporaries: int
    """Temporary files of killed writers removed."""


def repair(backend: LocalBackend, workers: int, progress: Progress = no_progress) -> RepairReport:
    """Drop every damaged copy; objects then missing are stored again by ``add`` or ``pull``."""
    from tether.objects.errors import ObjectsNotWritable

    temporaries = backend.sweep_temporaries()
    damage = check(backend, workers, progress)
    dropped = list(damage.bad_loose)
    packs: list[str] = []
    try:
        for digest in damage.bad_loose:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(backend.path(digest))
        for name in sorted(damage.bad_packed.keys() | damage.lost.keys()):
            drop = set(damage.bad_packed.get(name, ())) | set(damage.lost.get(name, ()))
            backend.rewrite_pack_without(damage.indexes[name], drop)
            dropped.extend(r.hex() for r in drop)
            packs.append(damage.indexes[name].pack_path)
        for path in sorted(damage.packs):
            if path.endswith(".idx"):  # an unreadable index: its pack cannot be used either
                for p in (path, path[: -len(".idx")] + ".pack"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(p)
                packs.append(path)
    except OSError as e:
        raise ObjectsNotWritable(backend.root, e.strerror or str(e)) from None
    backend.packs.refresh(force=True)
    backend.set_known_bad(())
    return RepairReport(sorted(set(dropped)), packs, temporaries)
