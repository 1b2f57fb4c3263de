"""``status``: what changed in the workspace since the version each pointer names."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tether.data.leftovers import recover
from tether.data.manifest import Index, load_index
from tether.data.paths import relative
from tether.data.pointer import Pointer, find_pointers
from tether.data.repo import DataRepo
from tether.data.snapshot import Snapshots, fingerprint
from tether.data.statcache import NoStatCache
from tether.gcpause import gc_paused
from tether.objects.walk import scan


@dataclass
class DatasetStatus:
    pointer: Pointer
    path: str
    """The data's path, relative to the workspace."""
    missing: bool = False
    """The data is not there at all (restore it with ``tether data checkout``)."""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.added or self.removed or self.modified)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.pointer.name,
            "version": self.pointer.version,
            "path": self.path,
            "clean": self.clean,
            "missing": self.missing,
            "added": self.added,
            "removed": self.removed,
            "modified": self.modified,
        }


def _index(repo: DataRepo, pointer: Pointer, path: str) -> Index:
    """The pointer's tree by path; MissingObjects (pull it) when the store lacks it."""
    from tether.objects.errors import ObjectNotFound

    try:
        return load_index(repo.objects, pointer.tree)
    except ObjectNotFound:
        from tether.data.errors import MissingObjects

        what = f"dataset {pointer.name}@{pointer.version} ({path}: its tree)"
        raise MissingObjects(what, 1, repo.objects.url) from None


def status_of(repo: DataRepo, pointer: Pointer, cache: NoStatCache) -> DatasetStatus:
    """Compare the data beside ``pointer`` with the tree it names."""
    result = DatasetStatus(pointer, relative(repo.workspace, pointer.data_path))
    data = str(pointer.data_path)
    recover(data)  # what a killed checkout left: rolled back, or removed
    if not os.path.lexists(data):
        result.missing = True
        result.removed = sorted(_index(repo, pointer, result.path))
        return result
    files = scan(data)
    snapshots = Snapshots(repo.workspace.dir)
    fp = fingerprint(files)
    if snapshots.matches(pointer.data_path, pointer.tree, fp):
        return result  # every file has the size, mtime and inode it had when it matched
    from tether.data.hashing import digest_files  # only when the fingerprint says "changed"

    index = _index(repo, pointer, result.path)
    hashed = digest_files(files, cache, workers=repo.workers)
    seen = set()
    for path, digest, _, mode in hashed.entries:
        seen.add(path)
        old = index.get(path)
        if old is None:
            result.added.append(path)
        elif old[0] != digest or old[2] != mode:
            result.modified.append(path)
    if len(seen) != len(index) or result.added:
        result.removed = sorted(p for p in index if p not in seen)
    result.added.sort()
    result.modified.sort()
    if result.clean:
        snapshots.save(pointer.data_path, pointer.tree, fp)
    return result


@gc_paused()
def status(repo: DataRepo) -> list[DatasetStatus]:
    """The status of every dataset tracked by a pointer in the workspace."""
    cache = repo.stat_cache()
    try:
        return [status_of(repo, p, cache) for p in find_pointers(repo.workspace.root)]
    finally:
        cache.save()
