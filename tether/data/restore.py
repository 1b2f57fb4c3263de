"""``checkout``: put a dataset version (or every pointer's version) into the workspace."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tether.data.changes import status_of
from tether.data.dataset import resolve
from tether.data.errors import NoPointer, UnsafeDestination
from tether.data.lock import dataset_lock
from tether.data.materialize import CheckoutReport, LinkMode, materialize
from tether.data.paths import inside_workspace
from tether.data.pointer import Pointer, find_pointers, ignore_in_git, write_pointer
from tether.data.repo import DataRepo
from tether.gcpause import gc_paused
from tether.objects.types import Progress, no_progress


@dataclass(frozen=True)
class PointerCheckout:
    pointer: Pointer
    report: CheckoutReport | None
    """None when the data already matched the pointer."""


def _check_destination(repo: DataRepo, dest: Path) -> None:
    real = os.path.realpath(dest)
    root = os.path.realpath(repo.workspace.root)
    if real == root or root.startswith(real.rstrip(os.sep) + os.sep):
        raise UnsafeDestination(str(dest), "it holds the workspace")
    for marker in (".git", ".tether"):
        if os.path.exists(os.path.join(real, marker)):
            raise UnsafeDestination(str(dest), f"it holds a {marker} folder")


@gc_paused()
def checkout(
    repo: DataRepo,
    ref: str,
    *,
    to: str | os.PathLike[str] | None = None,
    link: LinkMode = "copy",
    progress: Progress = no_progress,
) -> CheckoutReport:
    """Materialise ``name@version`` at ``to``, or where the dataset's pointer says.

    With ``to``, the version's files are written under that folder (a single-file dataset as
    ``to/<file name>``). Without it, the pointer's data path is used and the pointer is moved
    to the version checked out.
    """
    version = resolve(repo, ref)
    tree = repo.objects.read_tree(version.tree_digest)
    cache = repo.stat_cache()
    if to is not None:
        dest = Path(os.path.abspath(to))
        _check_destination(repo, dest)
        with dataset_lock(repo.workspace, dest, timeout=repo.lock_timeout_s):
            done = materialize(
                repo.objects,
                tree,
                dest,
                link=link,
                cache=cache,
                workers=repo.workers,
                progress=progress,
            )
        cache.save()
        return done
    pointers = [p for p in find_pointers(repo.workspace.root) if p.name == version.dataset]
    if not pointers:
        raise NoPointer(version.dataset)
    report: CheckoutReport | None = None
    for p in pointers:
        data = inside_workspace(repo.workspace, p.data_path)
        with dataset_lock(repo.workspace, data, timeout=repo.lock_timeout_s):
            report = materialize(
                repo.objects,
                tree,
                data,
                single_file=p.kind == "file",
                link=link,
                cache=cache,
                workers=repo.workers,
                progress=progress,
            )
            write_pointer(
                data,
                name=version.dataset,
                version=version.version,
                kind=p.kind,
                tree=version.tree_digest,
                files=version.file_count,
                size=version.total_size,
            )
            ignore_in_git(data)
    cache.save()
    assert report is not None
    return report


@gc_paused()
def checkout_pointers(
    repo: DataRepo, *, link: LinkMode = "copy", progress: Progress = no_progress
) -> list[PointerCheckout]:
    """Restore every dataset tracked by a pointer in the workspace to the pointer's version."""
    cache = repo.stat_cache()
    done = []
    for p in find_pointers(repo.workspace.root):
        data = inside_workspace(repo.workspace, p.data_path)
        with dataset_lock(repo.workspace, data, timeout=repo.lock_timeout_s):
            if status_of(repo, p, cache).clean:
                done.append(PointerCheckout(p, None))
                continue
            tree = repo.objects.read_tree(p.tree)
            report = materialize(
                repo.objects,
                tree,
                data,
                single_file=p.kind == "file",
                link=link,
                cache=cache,
                workers=repo.workers,
                progress=progress,
            )
        done.append(PointerCheckout(p, report))
    cache.save()
    return done
