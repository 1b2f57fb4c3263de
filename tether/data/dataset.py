"""Dataset versions by reference: resolving ``name@N``, listing files, a read-only local copy."""

from __future__ import annotations

import os
from pathlib import Path

from tether.data.materialize import LinkMode, materialize
from tether.data.ref import get_version
from tether.data.repo import DataRepo
from tether.objects.tree import TreeEntry
from tether.store import DatasetVersion


def resolve(repo: DataRepo, ref: str) -> DatasetVersion:
    """The version ``ref`` names (``name`` = the latest); NotFound when there is none."""
    return get_version(repo.store, repo.project, ref)


def files(repo: DataRepo, version: DatasetVersion) -> list[TreeEntry]:
    """The files of a version, sorted by path."""
    return list(repo.objects.read_tree(version.tree_digest).entries)


def cache_dir(repo: DataRepo) -> Path:
    return repo.workspace.dir / "cache" / "datasets"


def _same_device(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def cached_path(repo: DataRepo, version: DatasetVersion) -> Path:
    """A read-only copy of the version in ``.tether/cache/datasets/<tree digest>/``.

    Made once (hard links to the local store where possible, else copies) and reused.
    """
    folder = cache_dir(repo) / version.tree_digest
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    local = repo.objects.local
    store_root = Path(local.root) if local is not None else None
    link: LinkMode = (
        "hardlink" if store_root is not None and _same_device(store_root, folder.parent) else "copy"
    )
    tree = repo.objects.read_tree(version.tree_digest)
    materialize(repo.objects, tree, folder, link=link, readonly=True, workers=repo.workers)
    return folder
