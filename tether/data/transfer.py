"""Push and pull from Python: dataset versions to and from a workspace's remote, the API
that ``tether data push`` and ``tether data pull`` call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tether.data.repo import DataRepo

if TYPE_CHECKING:
    from tether.config.remotes import Remote
    from tether.data.remote import Plan
    from tether.objects import Progress
    from tether.objects.sync import TransferReport
    from tether.store import DatasetVersion


@dataclass(frozen=True)
class Transfer:
    """What a push or pull did."""

    remote: Remote
    versions: list[DatasetVersion]
    """The versions selected (their objects are now on both sides)."""
    report: TransferReport
    records_written: int
    """Push: dataset-version records written to the remote for fresh clones."""
    registered: list[DatasetVersion]
    """Pull: versions registered in this workspace from the remote's records."""
    notes: list[str]


def _run(target: Remote, plan: Plan, progress: Progress | None) -> Transfer:
    report = plan.run(progress=progress)
    return Transfer(
        target, plan.versions, report, plan.records_written, plan.registered, plan.notes
    )


def plan_transfer(
    repo: DataRepo,
    direction: str,
    refs: Sequence[str] | None = None,
    *,
    remote: str | None = None,
    all_versions: bool = False,
) -> tuple[Remote, Plan]:
    """The remote (``remote``, else ``core.remote``) and what a push or pull would copy;
    ``refs`` are ``name`` or ``name@version`` (default: the latest version of every dataset,
    and for a pull the versions the pointer files name)."""
    from tether.data.remote import open_remote, plan_pull, plan_push

    settings = repo.workspace.settings
    target = settings.remote(remote)
    remote_objects = open_remote(
        target, workers=settings.objects_workers, fsync=bool(settings["objects.fsync"])
    )
    if direction == "push":
        return target, plan_push(
            repo.store, repo.objects, remote_objects, repo.project, refs or None,
            all_versions=all_versions,
        )  # fmt: skip
    from tether.data.pointer import find_pointers

    root = repo.workspace.root
    plan = plan_pull(
        repo.store,
        repo.objects,
        remote_objects,
        repo.project,
        refs or None,
        all_versions=all_versions,
        pointers=[] if refs else find_pointers(root),
        root=root,
    )
    return target, plan


def push(
    repo: DataRepo,
    refs: Sequence[str] | None = None,
    *,
    remote: str | None = None,
    all_versions: bool = False,
    progress: Progress | None = None,
) -> Transfer:
    """Copy the selected versions' objects that the remote lacks, with a record of each
    version that a fresh clone's pull registers."""
    target, plan = plan_transfer(repo, "push", refs, remote=remote, all_versions=all_versions)
    return _run(target, plan, progress)


def pull(
    repo: DataRepo,
    refs: Sequence[str] | None = None,
    *,
    remote: str | None = None,
    all_versions: bool = False,
    progress: Progress | None = None,
) -> Transfer:
    """Copy the selected versions' objects that the workspace lacks and register the versions
    its store lacks; checking them out is :func:`tether.data.checkout`'s job."""
    target, plan = plan_transfer(repo, "pull", refs, remote=remote, all_versions=all_versions)
    return _run(target, plan, progress)
