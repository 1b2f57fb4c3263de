"""Push and pull dataset versions between the workspace's object store and a remote.

A transfer is planned here: the selected versions' tree manifests are read (for a pull, from
the remote when the workspace lacks them), their members listed, and the destination asked
which of them it lacks. Only those are copied, by the object layer's one transfer engine
(:mod:`tether.objects.sync`: verified, in committed chunks, small objects to object storage in
batches), files before the trees that list them, so a destination never holds a tree whose
files are missing.

After the objects, a push writes the record of each version the remote lacks
(:mod:`tether.data.remote_records`), and a pull registers the versions the workspace's
metadata store lacks (:mod:`tether.data.pull_select`): a fresh clone needs only its pointer
files and the remote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tether.config.remotes import Remote
from tether.data.errors import BadRecord, NotInWorkspace, NotOnRemote
from tether.data.pointer import Pointer
from tether.data.pull_select import select_pull
from tether.data.ref import parse_ref
from tether.data.remote_records import RemoteRecords, record_path
from tether.errors import InvalidInput
from tether.gcpause import gc_paused
from tether.objects import (
    NotATree,
    ObjectNotFound,
    ObjectStore,
    Progress,
    TransferReport,
    Tree,
)
from tether.objects.gclock import writing
from tether.objects.parallel import pmap
from tether.objects.sync import copy_objects, copy_present, write_objects
from tether.objects.types import no_progress
from tether.store import DatasetNotFound, DatasetVersion, ProjectNotFound, Store


def open_remote(remote: Remote, *, workers: int | None = None, fsync: bool = False) -> ObjectStore:
    """The object store of a configured remote (credentials from the environment).

    ``fsync`` (setting ``objects.fsync``) makes a local-folder remote sync what it writes.
    """
    options: dict[str, Any] = {}
    if remote.scheme in ("s3", "s3a"):
        if remote.endpoint_url:
            options["endpoint_url"] = remote.endpoint_url
        # botocore keeps 10 connections by default: allow one per transfer in flight
        threads = workers if workers and workers > 0 else 10
        options["config_kwargs"] = {"max_pool_connections": max(10, threads)}
    return ObjectStore(remote.url, storage_options=options, workers=workers, fsync=fsync)


# -- choosing versions ---------------------------------------------------------------------


def select_versions(
    store: Store, project: str, refs: Sequence[str] | None = None, *, all_versions: bool = False
) -> list[DatasetVersion]:
    """The versions named by ``refs`` (``NAME`` or ``NAME@N``); none: every dataset.

    ``NAME`` means its latest version, or every version with ``all_versions``.
    """
    chosen: dict[tuple[str, int], DatasetVersion] = {}
    if refs:
        wanted = [parse_ref(r) for r in refs]
    else:
        try:
            wanted = [(d, None) for d in store.list_datasets(project)]
        except ProjectNotFound:  # nothing was ever recorded in it: nothing to transfer
            return []
    for name, version in wanted:
        try:
            if version is not None:
                found = [store.get_dataset_version(project, name, version)]
            elif all_versions:
                found = store.list_dataset_versions(project, name)
            else:
                found = [store.get_dataset_version(project, name)]
        except ProjectNotFound:
            raise DatasetNotFound(project, name) from None
        for v in found:
            chosen[(v.dataset, v.version)] = v
    return sorted(chosen.values(), key=lambda v: (v.dataset, v.version))


def label(v: DatasetVersion) -> str:
    return f"dataset {v.dataset}@{v.version}"


# -- planning ------------------------------------------------------------------------------


@dataclass
class Plan:
    """What a push or pull will copy from ``src`` to ``dst``; :meth:`run` copies it."""

    src: ObjectStore
    dst: ObjectStore
    trees: dict[str, int]
    """Every tree manifest of the selection and its size in bytes."""
    files: dict[str, int]
    """Every file the trees list and its size in bytes."""
    need_files: list[str]
    need_trees: list[str]
    versions: list[DatasetVersion] = field(default_factory=list)
    manifests: dict[str, bytes] = field(default_factory=dict, repr=False)
    """Bytes of the manifests to copy, read while planning."""
    labels: dict[str, str] = field(default_factory=dict, repr=False)
    """What each tree is, for errors (``dataset x@3``)."""
    members: dict[str, Tree] = field(default_factory=dict, repr=False)
    pulling: bool = False
    records: dict[str, bytes] = field(default_factory=dict, repr=False)
    """Push: the dataset-version records the remote lacks, written after the objects."""
    register: list[DatasetVersion] = field(default_factory=list)
    """Pull: versions the workspace's store lacks, recorded once the objects are in."""
    store: Store | None = field(default=None, repr=False)
    history_trees: list[str] = field(default_factory=list)
    """Manifests of the other versions of the datasets transferred (their history), copied
    where the source has them: for ``data log`` and ``data diff`` on the other side."""
    notes: list[str] = field(default_factory=list)
    records_written: int = 0
    registered: list[DatasetVersion] = field(default_factory=list)

    @property
    def objects(self) -> int:
        return len(self.trees) + len(self.files)

    @property
    def to_copy(self) -> int:
        return len(self.need_files) + len(self.need_trees)

    @property
    def bytes_to_copy(self) -> int:
        return sum(self.files[d] for d in self.need_files) + sum(
            self.trees[d] for d in self.need_trees
        )

    def run(
        self, *, workers: int | None = None, progress: Progress | None = None
    ) -> TransferReport:
        """Copy what ``dst`` lacks (:mod:`tether.objects.sync`), then write the records of a
        push or register the versions of a pull; ``progress`` advances by bytes copied (from
        many threads)."""
        if self.pulling:  # the collection lock: versions registered before `tether gc` looks
            with writing(self.dst):
                return self._run(workers, progress)
        return self._run(workers, progress)

    def _run(self, workers: int | None, progress: Progress | None) -> TransferReport:
        report = progress or no_progress
        try:
            copied, nbytes = copy_objects(
                self.src, self.dst, self.need_files, self.files, workers=workers, progress=report
            )
        except ObjectNotFound:
            if not self.pulling:
                raise
            # the remote lacks files its trees list: say which version, and how many
            lacking = self.src.missing(self.need_files)
            _raise_incomplete(self.members, self.labels, lacking, NotOnRemote, self.src.url)
            raise
        if self.need_trees:
            n, b = write_objects(
                self.dst,
                {d: self.manifests[d] for d in self.need_trees},
                workers=workers,
                progress=report,
            )
            copied += n
            nbytes += b
        skipped = self.objects - copied
        if self.history_trees:
            got_trees = copy_present(self.src, self.dst, self.history_trees)
            report(got_trees.bytes)
            copied += got_trees.copied
            skipped += got_trees.skipped
            nbytes += got_trees.bytes
        if self.records:
            RemoteRecords(self.dst).write(self.records)
            self.records_written = len(self.records)
        if self.register and self.store is not None:
            self.store.get_or_create_project(self.register[0].project)
            self.registered = self.store.register_dataset_versions(self.register)
        return TransferReport(copied=copied, skipped=skipped, bytes=nbytes)


def _read_manifest(stores: Sequence[ObjectStore], digest: str) -> tuple[bytes, Tree] | None:
    """The manifest from the first store that has it, or None when none does."""
    for store in stores:
        try:
            data = store.get_bytes(digest)
        except ObjectNotFound:
            continue
        try:
            return data, Tree.from_bytes(data)
        except InvalidInput as e:
            raise NotATree(digest, str(e)) from None
    return None


def plan_trees(
    src: ObjectStore,
    dst: ObjectStore,
    trees: Mapping[str, str],
    *,
    pulling: bool,
) -> Plan:
    """Plan copying the trees ``{digest: what}`` (and their files) from ``src`` to ``dst``.

    A push reads manifests from ``src``; a pull reads each from ``dst`` when it is there,
    else from the remote (``src``). ``what`` names the tree in errors (``dataset x@3``).
    """
    digests = sorted(trees)
    order = [dst, src] if pulling else [src]
    threads = max(src.workers, dst.workers)
    found = pmap(lambda d: _read_manifest(order, d), digests, threads)
    sizes: dict[str, int] = {}
    files: dict[str, int] = {}
    manifests: dict[str, bytes] = {}
    members: dict[str, Tree] = {}
    for digest, got in zip(digests, found, strict=True):
        if got is None:
            if pulling:
                raise NotOnRemote(trees[digest], 1, src.url)
            raise NotInWorkspace(trees[digest], 1, src.url)
        data, tree = got
        sizes[digest] = len(data)
        manifests[digest] = data
        members[digest] = tree
        for e in tree.entries:
            files[e.digest] = e.size

    need_files = sorted(dst.missing(files))
    if not pulling and need_files:
        # a push from an incomplete workspace fails now, naming the version, not halfway
        lacking = src.missing(need_files)
        if lacking:
            _raise_incomplete(members, trees, lacking, NotInWorkspace, src.url)
    need_trees = sorted(dst.missing(sizes))
    keep = set(need_trees)
    return Plan(
        src=src,
        dst=dst,
        trees=sizes,
        files=files,
        need_files=need_files,
        need_trees=need_trees,
        manifests={d: b for d, b in manifests.items() if d in keep},
        labels=dict(trees),
        members=members,
        pulling=pulling,
    )


def _raise_incomplete(
    members: Mapping[str, Tree],
    trees: Mapping[str, str],
    lacking: set[str],
    error: type[NotInWorkspace] | type[NotOnRemote],
    url: str,
) -> None:
    for digest, tree in members.items():
        count = len({e.digest for e in tree.entries} & lacking)
        if count:
            raise error(trees[digest], count, url)


def _plan_versions(
    src: ObjectStore, dst: ObjectStore, versions: Iterable[DatasetVersion], *, pulling: bool
) -> Plan:
    chosen = list(versions)
    trees: dict[str, str] = {}
    for v in chosen:
        trees.setdefault(v.tree_digest, label(v))
    plan = plan_trees(src, dst, trees, pulling=pulling)
    plan.versions = chosen
    return plan


def plan_push(
    store: Store,
    objects: ObjectStore,
    remote_objects: ObjectStore,
    project: str,
    refs: Sequence[str] | None = None,
    *,
    all_versions: bool = False,
) -> Plan:
    """Plan a push of the selected versions from ``objects`` to ``remote_objects``, with the
    records of the versions that the remote lacks (checked before anything is copied), and the
    records and tree manifests of the pushed datasets' other versions."""
    versions = select_versions(store, project, refs, all_versions=all_versions)
    plan = _plan_versions(objects, remote_objects, versions, pulling=False)
    records = RemoteRecords(remote_objects)
    plan.records = records.to_write(plan.versions)
    # the rest of each pushed dataset's history: its records and tree manifests (small), so
    # that `data log` and `data diff` work in a fresh clone; their files go only when pushed
    pushed = {(v.dataset, v.version) for v in versions}
    history = [
        v
        for name in sorted({v.dataset for v in versions})
        for v in store.list_dataset_versions(project, name)
        if (v.dataset, v.version) not in pushed
    ]
    plan.records.update(records.to_write(history, strict=False))
    plan.history_trees = sorted({v.tree_digest for v in history} - set(plan.trees))
    return plan


def plan_pull(
    store: Store,
    objects: ObjectStore,
    remote_objects: ObjectStore,
    project: str,
    refs: Sequence[str] | None = None,
    *,
    all_versions: bool = False,
    pointers: Sequence[Pointer] = (),
    root: Path | None = None,
) -> Plan:
    """Plan a pull of the selected versions from ``remote_objects`` into ``objects``.

    Without ``refs``: the versions the ``pointers`` name, and the latest version of every
    other dataset the store holds. Versions the store lacks are taken from the remote's records
    (:mod:`tether.data.pull_select`) and registered once their objects are in.
    """
    records = RemoteRecords(remote_objects)
    chosen = select_pull(
        store,
        project,
        records,
        refs,
        all_versions=all_versions,
        pointers=pointers,
        root=root,
    )
    plan = _plan_versions(remote_objects, objects, chosen.versions, pulling=True)
    pulled = {v.tree_digest for v in chosen.versions}
    register = []
    for v in chosen.register:
        tree = plan.members.get(v.tree_digest)
        if tree is not None and (v.dataset, v.version) in chosen.from_pointer:
            v = replace(v, file_count=tree.count, total_size=tree.size)
        elif tree is not None and (v.file_count, v.total_size) != (tree.count, tree.size):
            raise BadRecord(
                records.where(record_path(project, v.dataset, v.version)),
                f"it counts {v.file_count} files and {v.total_size} bytes, its tree "
                f"{tree.count} files and {tree.size} bytes",
            )
        register.append(v)
    plan.register = register
    plan.store = store
    plan.notes = chosen.notes
    plan.history_trees = sorted({v.tree_digest for v in register} - pulled)
    return plan


@gc_paused()
def push(
    store: Store,
    objects: ObjectStore,
    remote_objects: ObjectStore,
    project: str,
    refs: Sequence[str] | None = None,
    all_versions: bool = False,
    progress: Progress | None = None,
) -> TransferReport:
    """Copy the selected versions' objects that the remote lacks (default: every dataset's
    latest version); ``progress`` advances by bytes copied."""
    plan = plan_push(store, objects, remote_objects, project, refs, all_versions=all_versions)
    return plan.run(progress=progress)


@gc_paused()
def pull(
    store: Store,
    objects: ObjectStore,
    remote_objects: ObjectStore,
    project: str,
    refs: Sequence[str] | None = None,
    all_versions: bool = False,
    progress: Progress | None = None,
    pointers: Sequence[Pointer] = (),
    root: Path | None = None,
) -> TransferReport:
    """Copy the selected versions' objects that the workspace lacks from the remote, and
    register the versions the store lacks (see :func:`plan_pull`)."""
    plan = plan_pull(
        store,
        objects,
        remote_objects,
        project,
        refs,
        all_versions=all_versions,
        pointers=pointers,
        root=root,
    )
    return plan.run(progress=progress)  # under the collection lock, as every pull


def push_trees(
    objects: ObjectStore,
    remote_objects: ObjectStore,
    digests: Iterable[str],
    progress: Progress | None = None,
) -> TransferReport:
    """Push trees named by digest (as pointer files name them), with their files."""
    plan = plan_trees(objects, remote_objects, {d: f"tree {d}" for d in digests}, pulling=False)
    return plan.run(progress=progress)


def pull_trees(
    objects: ObjectStore,
    remote_objects: ObjectStore,
    digests: Iterable[str],
    progress: Progress | None = None,
) -> TransferReport:
    """Pull trees named by digest (when the metadata store does not know the version)."""
    plan = plan_trees(remote_objects, objects, {d: f"tree {d}" for d in digests}, pulling=True)
    return plan.run(progress=progress)


__all__ = [
    "NotInWorkspace",
    "NotOnRemote",
    "Plan",
    "open_remote",
    "plan_pull",
    "plan_push",
    "plan_trees",
    "pull",
    "pull_trees",
    "push",
    "push_trees",
    "select_versions",
]
