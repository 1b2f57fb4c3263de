"""Diffs against the workspace: a version against the files on disk, and the versions the
pointer files named at a git revision against the ones they name now."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tether.data.diff import MAX_TABLES, DatasetDiff, WorkspaceFiles, compare, diff_versions
from tether.data.paths import relative
from tether.data.pointer import Pointer, find_pointers, read_pointer
from tether.data.ref import parse_ref
from tether.errors import InvalidInput, NotFound
from tether.objects import Tree, TreeEntry

if TYPE_CHECKING:
    from tether.data.repo import DataRepo


def _pointer(repo: DataRepo, name: str) -> Pointer:
    found = [p for p in find_pointers(repo.workspace.root) if p.name == name]
    if not found:
        raise NotFound(
            f"no pointer file of dataset {name!r} in the workspace, so no files on disk to "
            f"compare with; compare two versions instead: tether data diff {name}@1 {name}@2"
        )
    if len(found) > 1:
        where = ", ".join(relative(repo.workspace, p.path) for p in found)
        raise InvalidInput(f"dataset {name!r} has several pointer files ({where}); check one out")
    return found[0]


def diff_workspace(
    repo: DataRepo, ref: str, *, tables: bool = True, max_tables: int = MAX_TABLES
) -> DatasetDiff:
    """``NAME@N`` (``NAME``: the version its pointer names) against the files on disk."""
    from tether.data.hashing import digest_files
    from tether.objects.walk import scan

    name, version = parse_ref(ref)
    pointer = _pointer(repo, name)
    va = repo.store.get_dataset_version(repo.project, name, version or pointer.version)
    data = str(pointer.data_path)
    if not os.path.lexists(data):
        raise NotFound(
            f"{relative(repo.workspace, pointer.data_path)} is not there; "
            "restore it with `tether data checkout`"
        )
    files = scan(data)
    cache = repo.stat_cache()
    try:
        hashed = digest_files(files, cache, workers=repo.workers)
    finally:
        cache.save()
    tree_b = Tree.from_entries(TreeEntry(p, d, s, m) for p, d, s, m in hashed.entries)
    side = WorkspaceFiles(
        name,
        relative(repo.workspace, pointer.data_path),
        tree_b.digest,
        len(tree_b.entries),
        sum(e.size for e in tree_b.entries),
    )
    local = {f.path: f.source for f in files}
    tree_a = repo.objects.read_tree(va.tree_digest)
    return compare(
        repo.objects, va, tree_a, side, tree_b, tables=tables, max_tables=max_tables, local_b=local
    )


def diff_revision(
    repo: DataRepo, rev: str, name: str | None = None, *, tables: bool = True
) -> list[DatasetDiff]:
    """For each pointer file (or dataset ``name``'s), the version it named at git revision
    ``rev`` against the version it names now; pointers that did not exist then are left out."""
    pointers = [_pointer(repo, name)] if name else find_pointers(repo.workspace.root)
    diffs = []
    for pointer in pointers:
        old = _pointer_at(rev, pointer.path)
        if old is None:
            continue
        diffs.append(
            diff_versions(
                repo.store,
                repo.objects,
                repo.project,
                f"{old.name}@{old.version}",
                f"{pointer.name}@{pointer.version}",
                tables=tables,
            )
        )
    return diffs


def _pointer_at(rev: str, path: Path) -> Pointer | None:
    """The pointer file at ``path`` as committed in ``rev``; None where it did not exist."""
    if rev.startswith("-"):
        raise InvalidInput(f"--rev {rev!r} must name a git revision, like HEAD~1")
    try:
        proc = subprocess.run(
            ["git", "show", f"{rev}:./{path.name}"],
            cwd=path.parent,
            capture_output=True,
            check=False,
        )
    except OSError as e:
        raise InvalidInput(f"--rev needs git, which could not run ({e.strerror})") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        if "exists on disk, but not in" in err or "does not exist in" in err:
            return None
        line = err.splitlines()[-1] if err else f"git exited with {proc.returncode}"
        raise InvalidInput(f"cannot read {path.name} at git revision {rev!r}: {line}")
    with tempfile.TemporaryDirectory(prefix="tether-rev-") as tmp:
        copy = Path(tmp) / path.name
        copy.write_bytes(proc.stdout)
        return read_pointer(copy)
