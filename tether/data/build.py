"""``add``: version a file, a folder or a table as the next version of a named dataset."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tether.data.hashing import digest_files
from tether.data.paths import inside_workspace
from tether.data.pointer import Kind, ignore_in_git, write_pointer
from tether.data.repo import DataRepo
from tether.data.snapshot import Snapshots, fingerprint
from tether.data.walk import scan
from tether.gcpause import gc_paused
from tether.objects.tree import Tree, TreeEntry
from tether.objects.types import Progress, no_progress
from tether.store import DatasetVersion, ObjectRecord
from tether.store.errors import DatasetNotFound


@dataclass(frozen=True)
class AddResult:
    version: DatasetVersion
    created: bool
    """False when the content equals the latest version (no new version was made)."""
    kind: Kind
    path: Path
    pointer: Path | None
    hashed: int
    """Files read; the others were known to the stat cache."""


@gc_paused()
def add(
    repo: DataRepo,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    message: str | None = None,
    run_id: str | None = None,
    pointer: bool = True,
    progress: Progress = no_progress,
) -> AddResult:
    """Store ``path`` and record it as the next version of dataset ``name``.

    ``name`` defaults to the path's last component. Content equal to the latest version makes
    no new version. With ``pointer``, writes ``<path>.tether`` and lists ``path`` in the
    ``.gitignore`` of its folder.
    """
    data = inside_workspace(repo.workspace, path)
    kind: Kind = "folder" if data.is_dir() else "file"
    files = scan(str(data))
    cache = repo.stat_cache()
    with repo.objects.backend.batch():
        hashed = digest_files(
            files, cache, objects=repo.objects, workers=repo.workers, progress=progress
        )
        tree = Tree.from_entries(TreeEntry(*e) for e in hashed.entries)
        manifest = tree.to_bytes()
        tree_info = repo.objects.put_bytes(manifest)
    dataset = name or data.name
    repo.store.get_or_create_project(repo.project)
    records = [ObjectRecord(i.digest, i.size, "blob") for i in hashed.stored]
    records.append(ObjectRecord(tree_info.digest, tree_info.size, "tree"))
    repo.store.record_objects(records)
    try:
        latest: DatasetVersion | None = repo.store.get_dataset_version(repo.project, dataset)
    except DatasetNotFound:
        latest = None
    if latest is not None and latest.tree_digest == tree_info.digest:
        version, created = latest, False
    else:
        version = repo.store.create_dataset_version(
            repo.project,
            dataset,
            tree_digest=tree_info.digest,
            file_count=tree.count,
            total_size=tree.size,
            message=message,
            run_id=run_id,
        )
        created = True
    cache.save()
    Snapshots(repo.workspace.dir).save(data, version.tree_digest, fingerprint(files))
    pointer_file = None
    if pointer:
        pointer_file = write_pointer(
            data,
            name=dataset,
            version=version.version,
            kind=kind,
            tree=version.tree_digest,
            files=version.file_count,
            size=version.total_size,
        ).path
        ignore_in_git(data)
    return AddResult(version, created, kind, data, pointer_file, hashed.hashed)
