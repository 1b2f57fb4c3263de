"""``add``: version a file, a folder or a table as the next version of a named dataset.

Everything that can fail is checked before anything is recorded: the name, the path (inside
the workspace, not inside tracked data), the pointer file and ``.gitignore`` beside the data
(regular files, not symlinks), every file name (UTF-8) and path length (short enough to be
checked out again). The data is versioned under the dataset's lock (:mod:`tether.data.lock`),
and a version is what was on disk at one moment: a file or folder that changed while it was
hashed (size, mtime or inode) makes ``add`` walk and hash again, up to ``ATTEMPTS`` times,
before it fails with :class:`FileChanged`; it never records a mix of before and after.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tether.config.atomic import refuse_link
from tether.data.errors import FileChanged
from tether.data.hashing import Hashed, digest_files
from tether.data.leftovers import recover
from tether.data.lock import dataset_lock
from tether.data.paths import check_holds_no_dataset, check_not_inside_dataset, inside_workspace
from tether.data.pointer import Kind, check_ignorable, ignore_in_git, pointer_path, write_pointer
from tether.data.repo import DataRepo
from tether.data.snapshot import Snapshots, fingerprint
from tether.data.statcache import NoStatCache
from tether.errors import InvalidInput
from tether.gcpause import gc_paused
from tether.objects.errors import SourceChanged
from tether.objects.gclock import writing
from tether.objects.tree import Tree, TreeEntry
from tether.objects.types import ObjectInfo, Progress, no_progress
from tether.objects.walk import Found, changed_folder, printable, scan
from tether.store import DatasetVersion, ObjectRecord
from tether.store.errors import DatasetNotFound
from tether.store.validate import entity_name

ATTEMPTS = 3
"""Walks and hashes of data that keeps changing before ``add`` gives up."""

CHECKOUT_MARGIN = 32
"""Bytes a checkout adds to a path: it writes into ``.<name>.tether-checkout-XXXXXXXX/``."""


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


def _path_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - Windows
        return 4096


def check_path_lengths(data: Path, files: list[Found]) -> None:
    """InvalidInput when a file's path, where it is, is too long to be checked out again."""
    if not files:
        return
    base = len(os.fsencode(str(data))) + 1 + CHECKOUT_MARGIN
    room = _path_max(data.parent) - base
    if max(len(f.path) for f in files) * 4 < room:  # 4 bytes a character at most
        return
    for f in files:
        if len(f.path.encode("utf-8", "surrogateescape")) >= room:
            raise InvalidInput(
                f"{printable(os.path.join(str(data), f.path))[:200]}... is nested too deep: "
                f"with the folder it is in, its path would be longer than the {room + base} "
                "bytes the system allows (PATH_MAX) when it is checked out again; shorten the "
                "folder names or flatten the folders"
            )


def _check_control_files(data: Path, *, force: bool) -> None:
    """The pointer file and ``.gitignore`` beside ``data`` can be written (checked before
    anything is recorded, so a refusal leaves nothing half-written)."""
    check_ignorable(data)
    for path in (pointer_path(data), data.parent / ".gitignore"):
        refuse_link(path, force=force)
        if os.path.lexists(path) and not (path.is_symlink() or path.is_file()):
            raise InvalidInput(f"{path} is not a regular file; move it away and try again")
    gitignore = data.parent / ".gitignore"
    if gitignore.is_file() and not gitignore.is_symlink() and not os.access(gitignore, os.R_OK):
        raise InvalidInput(f"cannot read {gitignore} (permission denied); fix its permissions")
    if not os.access(data.parent, os.W_OK):
        raise InvalidInput(
            f"cannot write the pointer file in {data.parent} (permission denied); fix the "
            "folder's permissions, or add without a pointer file"
        )


@dataclass
class _Snapshot:
    kind: Kind
    files: list[Found]
    hashed: Hashed
    tree: Tree
    tree_info: ObjectInfo


def _changed(files: list[Found], folders: list[tuple[str, os.stat_result]]) -> str | None:
    """A folder (or the single file) that changed since the walk, or None."""
    if folders:
        return changed_folder(folders)
    if not files:
        return None
    try:
        now = os.stat(files[0].source)
    except OSError:
        return files[0].source
    st = files[0].stat
    same = (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) == (
        st.st_ino,
        st.st_dev,
        st.st_size,
        st.st_mtime_ns,
    )
    return None if same else files[0].source


def _snapshot(repo: DataRepo, data: Path, cache: NoStatCache, progress: Progress) -> _Snapshot:
    """Walk, hash and store the data as it is at one moment; retried while it changes."""
    culprit = str(data)
    for _ in range(ATTEMPTS):
        folders: list[tuple[str, os.stat_result]] = []
        try:
            files = scan(str(data), folders)
            check_path_lengths(data, files)
            if folders:
                check_holds_no_dataset(data, [f.path for f in files])
            with repo.objects.batch():
                hashed = digest_files(
                    files, cache, objects=repo.objects, workers=repo.workers, progress=progress
                )
                tree = Tree.from_entries(TreeEntry(*e) for e in hashed.entries)
                tree_info = repo.objects.put_bytes(tree.to_bytes())
        except (FileChanged, SourceChanged) as e:  # the walk's, or a file's while hashed
            culprit = e.path
            continue
        changed = _changed(files, folders)
        if changed is None:
            return _Snapshot("folder" if folders else "file", files, hashed, tree, tree_info)
        culprit = changed
    raise FileChanged(printable(culprit), ATTEMPTS)


@gc_paused()
def add(
    repo: DataRepo,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    message: str | None = None,
    run_id: str | None = None,
    pointer: bool = True,
    force: bool = False,
    progress: Progress = no_progress,
) -> AddResult:
    """Store ``path`` and record it as the next version of dataset ``name``.

    ``name`` defaults to the path's last component. Content equal to the latest version makes
    no new version. With ``pointer``, writes ``<path>.tether`` and lists ``path`` in the
    ``.gitignore`` of its folder; either one being a symlink is refused, unless ``force``,
    which replaces the link (its target is never read or written).
    """
    data = inside_workspace(repo.workspace, path)
    dataset = entity_name("dataset name", name if name is not None else data.name)
    check_not_inside_dataset(repo.workspace, data)
    if pointer:
        _check_control_files(data, force=force)
    cache = repo.stat_cache()
    # the collection lock: what this stores is recorded before `tether gc` may look
    with dataset_lock(repo.workspace, data, timeout=repo.lock_timeout_s), writing(repo.objects):
        recover(str(data))  # a killed checkout's leftovers: rolled back before anything is read
        snap = _snapshot(repo, data, cache, progress)
        kind = snap.kind
        tree, tree_info = snap.tree, snap.tree_info
        repo.store.get_or_create_project(repo.project)
        records = [ObjectRecord(i.digest, i.size, "blob") for i in snap.hashed.stored]
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
        Snapshots(repo.workspace.dir).save(data, version.tree_digest, fingerprint(snap.files))
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
                force=force,
            ).path
            ignore_in_git(data, force=force)
    return AddResult(version, created, kind, data, pointer_file, snap.hashed.hashed)
