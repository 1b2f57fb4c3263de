"""``checkout``: put a dataset version (or every pointer's version) into the workspace.

Where it writes: only where a pointer's data path is (inside the workspace, never in or over a
``.git`` or ``.tether`` folder, not through a symlink leading out), checked for every pointer
before anything is written; or, with ``to``, a folder that neither holds nor lies in one of
those. What it keeps: a file whose content no version holds is never overwritten or deleted
without ``force`` (:func:`tether.data.materialize.materialize`).

Order of a checkout that moves a pointer: the new content is built beside the data, then the
pointer is written, then the content is swapped in. A process killed before the pointer is
written leaves the old pointer and old data; killed after, the new pointer and (after the next
command's :func:`tether.data.leftovers.recover`) the old data, which ``status`` reports as
modified and ``tether data checkout`` restores. New data never sits behind an old pointer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.config.atomic import refuse_link, write_bytes_atomic
from tether.data.changes import status_of
from tether.data.dataset import resolve
from tether.data.errors import (
    NoPointer,
    OutsideWorkspace,
    ReservedPath,
    UnsafeDestination,
    UnsafePointer,
    WorkWouldBeLost,
)
from tether.data.lock import dataset_lock
from tether.data.manifest import load_index
from tether.data.materialize import CheckoutReport, LinkMode, materialize
from tether.data.paths import inside_workspace, reserved_part
from tether.data.pointer import Pointer, find_pointers, ignore_in_git, write_pointer
from tether.data.repo import DataRepo
from tether.gcpause import gc_paused
from tether.objects.errors import ObjectNotFound
from tether.objects.tree import Tree
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
    for path in (str(dest), real):
        part = reserved_part(path)
        if part is not None:
            raise UnsafeDestination(
                str(dest), f"it lies in a {part} folder", "choose a folder outside it"
            )
    for marker in (".git", ".tether"):
        if os.path.lexists(os.path.join(real, marker)):
            raise UnsafeDestination(str(dest), f"it holds a {marker} folder")


def pointer_data(repo: DataRepo, pointer: Pointer) -> Path:
    """Where ``pointer``'s data is; UnsafePointer when checkout must not write there."""
    try:
        return inside_workspace(repo.workspace, pointer.data_path)
    except OutsideWorkspace:
        why = f"its data {pointer.data_path} is outside the workspace {repo.workspace.root}"
    except ReservedPath as e:
        why = str(e).split(";")[0]
    raise UnsafePointer(str(pointer.path), why)


def _recorded(repo: DataRepo, pointer: Pointer, data: Path) -> dict[str, str]:
    """path -> digest of the version the pointer says ``data`` holds ({} if not stored)."""
    if not os.path.lexists(data):
        return {}  # nothing there to keep
    try:
        index = load_index(repo.objects, pointer.tree)
    except ObjectNotFound:
        return {}
    if pointer.kind == "file":  # one entry, named as the file was when it was added
        digests = [entry[0] for entry in index.values()]
        return {data.name: digests[0]} if len(digests) == 1 else {}
    return {path: d for path, (d, _, _) in index.items()}


@gc_paused()
def checkout(
    repo: DataRepo,
    ref: str,
    *,
    to: str | os.PathLike[str] | None = None,
    link: LinkMode = "copy",
    force: bool = False,
    progress: Progress = no_progress,
) -> CheckoutReport:
    """Materialise ``name@version`` at ``to``, or where the dataset's pointer says.

    With ``to``, the version's files are written under that folder (a single-file dataset as
    ``to/<file name>``). Without it, the pointer's data path is used and the pointer is moved
    to the version checked out. ``force`` replaces files whose content no version holds.
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
                recorded={},
                force=force,
            )
        cache.save()
        return done
    pointers = [p for p in find_pointers(repo.workspace.root) if p.name == version.dataset]
    if not pointers:
        raise NoPointer(version.dataset)
    targets = [(p, pointer_data(repo, p)) for p in pointers]  # all checked before any write
    for p, data in targets:  # control files that are symlinks: refused before any data moves
        refuse_link(p.path, force=force)
        refuse_link(data.parent / ".gitignore", force=force)
    report: CheckoutReport | None = None
    for p, data in targets:
        with dataset_lock(repo.workspace, data, timeout=repo.lock_timeout_s):
            old_text = p.path.read_bytes()

            def move_pointer(data: Path = data, p: Pointer = p) -> None:
                write_pointer(
                    data,
                    name=version.dataset,
                    version=version.version,
                    kind=p.kind,
                    tree=version.tree_digest,
                    files=version.file_count,
                    size=version.total_size,
                    force=force,
                )

            try:
                report = materialize(
                    repo.objects,
                    tree,
                    data,
                    single_file=p.kind == "file",
                    link=link,
                    cache=cache,
                    workers=repo.workers,
                    progress=progress,
                    recorded=_recorded(repo, p, data),
                    force=force,
                    before_swap=move_pointer,
                )
            except BaseException:
                if p.path.read_bytes() != old_text:  # the swap failed after the pointer moved
                    write_bytes_atomic(p.path, old_text)
                raise
            finally:
                cache.save()
            ignore_in_git(data, force=force)
    assert report is not None
    return report


@gc_paused()
def checkout_pointers(
    repo: DataRepo,
    *,
    link: LinkMode = "copy",
    force: bool = False,
    progress: Progress = no_progress,
) -> list[PointerCheckout]:
    """Restore every dataset tracked by a pointer in the workspace to the pointer's version.

    ``force`` replaces files whose content no version holds (else WorkWouldBeLost, before any
    dataset is written).
    """
    cache = repo.stat_cache()
    targets = [(p, pointer_data(repo, p)) for p in find_pointers(repo.workspace.root)]
    todo = []
    try:
        for p, data in targets:
            if not status_of(repo, p, cache).clean:
                todo.append((p, data, repo.objects.read_tree(p.tree), _recorded(repo, p, data)))

        def write(p: Pointer, data: Path, tree: Tree, recorded: dict[str, str], **kw: Any) -> Any:
            return materialize(
                repo.objects, tree, data, single_file=p.kind == "file", link=link, cache=cache,
                workers=repo.workers, recorded=recorded, **kw,
            )  # fmt: skip

        if len(todo) > 1 and not force:  # check them all before the first is written
            at_risk = []
            for p, data, tree, recorded in todo:
                try:
                    write(p, data, tree, recorded, dry_run=True)
                except WorkWouldBeLost as e:
                    root = repo.workspace.root
                    at_risk += [
                        (os.path.relpath(os.path.join(e.dest, f), root), why) for f, why in e.files
                    ]
            if at_risk:
                raise WorkWouldBeLost(str(repo.workspace.root), at_risk)
        reports = {}
        for p, data, tree, recorded in todo:
            with dataset_lock(repo.workspace, data, timeout=repo.lock_timeout_s):
                reports[p.path] = write(p, data, tree, recorded, progress=progress, force=force)
    finally:
        cache.save()
    return [PointerCheckout(p, reports.get(p.path)) for p, _ in targets]
