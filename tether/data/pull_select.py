"""Which dataset versions a pull names, and which of them the workspace must register first.

In the workspace that made them, the metadata store knows every version. In a fresh clone it
knows none: the committed pointer files name the versions (name, number, tree digest), and the
remote's records (:mod:`tether.data.remote_records`) describe them and their history. A
version the store lacks is taken from its record, checked against the pointer that names it,
and registered, with the dataset's other recorded versions (so that ``tether data log`` shows
them), once its objects are in. Without a record (pushed by an older Tether) a pointer's
version is registered from what the pointer and its tree say. A number the store already holds
with another tree is an error for the version asked for, and kept (with a note) in the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tether.data.errors import BadRecord, NotHereNorOnRemote, VersionConflict
from tether.data.pointer import Pointer
from tether.data.ref import parse_ref
from tether.data.remote_records import RemoteRecords, record_path
from tether.errors import InvalidInput
from tether.store import DatasetNotFound, DatasetVersion, ProjectNotFound, RunNotFound, Store

Key = tuple[str, int]


@dataclass
class Selection:
    versions: list[DatasetVersion] = field(default_factory=list)
    """The versions whose objects to pull, by name and number."""
    register: list[DatasetVersion] = field(default_factory=list)
    """Versions to record in the workspace's store once the objects are in (with history)."""
    from_pointer: set[Key] = field(default_factory=set)
    """Registered from a pointer alone: their counts come from the tree."""
    notes: list[str] = field(default_factory=list)


class _Selector:
    def __init__(self, store: Store, project: str, records: RemoteRecords) -> None:
        self.store = store
        self.project = project
        self.records = records
        self.local: dict[str, dict[int, DatasetVersion]] = {}
        self.remote: dict[str, dict[int, DatasetVersion]] = {}
        self.chosen: dict[Key, DatasetVersion] = {}
        self.register: dict[Key, DatasetVersion] = {}
        self.out = Selection()

    def local_versions(self, name: str) -> dict[int, DatasetVersion]:
        if name not in self.local:
            try:
                found = self.store.list_dataset_versions(self.project, name)
            except (DatasetNotFound, ProjectNotFound):
                found = []
            self.local[name] = {v.version: v for v in found}
        return self.local[name]

    def remote_versions(self, name: str) -> dict[int, DatasetVersion]:
        if name not in self.remote:
            self.remote[name] = self.records.history(self.project, name)
        return self.remote[name]

    def where(self, name: str, version: int) -> str:
        return self.records.where(record_path(self.project, name, version))

    def want(self, name: str, version: int | None, all_versions: bool = False) -> None:
        """``NAME@N``, or ``NAME``: the latest (every version with ``all_versions``)."""
        if version is not None:
            self.want_version(name, version, None, "")
            return
        local = self.local_versions(name)
        if local and not all_versions:
            latest = local[max(local)]
            self.chosen[(name, latest.version)] = latest
            return
        remote = self.remote_versions(name)
        if not local and not remote:
            raise NotHereNorOnRemote(f"dataset {name!r} is neither", self.records.url)
        numbers = sorted(set(local) | set(remote)) if all_versions else [max(remote)]
        for n in numbers:
            if n in local:
                self.chosen[(name, n)] = local[n]
            elif (name, n) not in self.chosen:
                self.take(remote[n])
        self.history(name)

    def want_version(self, name: str, version: int, tree: str | None, source: str) -> None:
        """``name@version``; ``tree`` and ``source``: what a pointer file says of it."""
        key = (name, version)
        have = self.local_versions(name).get(version)
        if have is not None:
            if tree is not None and have.tree_digest != tree:
                raise VersionConflict(f"{name}@{version}", have.tree_digest, source, tree)
            self.chosen[key] = have
            return
        if key in self.register:
            if tree is not None and self.register[key].tree_digest != tree:
                got = self.register[key].tree_digest
                if key in self.out.from_pointer:
                    raise InvalidInput(
                        f"pointer files disagree on dataset {name}@{version}: tree {got}, and "
                        f"tree {tree} in {source}; restore them from git (git checkout -- FILE)"
                    )
                raise BadRecord(
                    self.where(name, version),
                    f"it names tree {got}, but {source} names tree {tree}",
                )
            self.chosen[key] = self.register[key]
            return
        record = self.remote_versions(name).get(version)
        if record is None:
            if tree is None:
                raise NotHereNorOnRemote(
                    f"dataset {name!r} has no version {version}", self.records.url
                )
            record = DatasetVersion(
                self.project, name, version, tree, 0, 0, None, None, datetime.now(UTC)
            )
            self.out.from_pointer.add(key)
            self.out.notes.append(
                f"{name}@{version}: the remote has no record of it (pushed by an older "
                f"Tether); registered from {source} alone, without message or run"
            )
        elif tree is not None and record.tree_digest != tree:
            raise BadRecord(
                self.where(name, version),
                f"it names tree {record.tree_digest}, but {source} names tree {tree}",
            )
        self.take(record)
        self.history(name)

    def take(self, v: DatasetVersion) -> None:
        self.chosen[(v.dataset, v.version)] = v
        self.register[(v.dataset, v.version)] = v

    def history(self, name: str) -> None:
        """Register the dataset's other recorded versions, for ``log`` and ``diff``."""
        local = self.local_versions(name)
        for n, v in self.remote_versions(name).items():
            if (name, n) in self.register:
                continue
            here = local.get(n)
            if here is None:
                self.register[(name, n)] = v
            elif here.tree_digest != v.tree_digest:
                self.out.notes.append(
                    f"{name}@{n}: kept this workspace's version (tree {here.tree_digest[:12]}); "
                    f"the remote's {name}@{n} is another (tree {v.tree_digest[:12]})"
                )

    def runs_known_here(self, versions: list[DatasetVersion]) -> list[DatasetVersion]:
        """The versions with the producing run dropped where this store does not hold it."""
        known: dict[str, bool] = {}
        out = []
        for v in versions:
            if v.run_id is not None:
                if v.run_id not in known:
                    try:
                        self.store.get_run(v.run_id)
                        known[v.run_id] = True
                    except RunNotFound:
                        known[v.run_id] = False
                if not known[v.run_id]:
                    v = replace(v, run_id=None)
            out.append(v)
        return out


def select_pull(
    store: Store,
    project: str,
    records: RemoteRecords,
    refs: Sequence[str] | None = None,
    *,
    all_versions: bool = False,
    pointers: Sequence[Pointer] = (),
    root: Path | None = None,
) -> Selection:
    """The versions to pull: those ``refs`` name; without refs, those the ``pointers`` name
    and the latest version of every other dataset the store holds.

    ``root`` (the workspace) shortens the pointer paths that errors and notes name.
    """
    s = _Selector(store, project, records)
    if refs:
        for name, version in [parse_ref(r) for r in refs]:
            s.want(name, version, all_versions)
    else:
        for p in pointers:
            source = str(p.path.relative_to(root) if root else p.path)
            if all_versions:
                s.want(p.name, None, True)
            s.want_version(p.name, p.version, p.tree, f"the pointer file {source}")
        try:
            names = store.list_datasets(project)
        except ProjectNotFound:
            names = []
        named = {p.name for p in pointers}
        for name in names:
            if name not in named:  # a pointer says which version the workspace wants
                s.want(name, None, all_versions)
    out = s.out
    out.versions = sorted(s.chosen.values(), key=lambda v: (v.dataset, v.version))
    registering = sorted(s.register.values(), key=lambda v: (v.dataset, v.version))
    out.register = s.runs_known_here(registering)
    return out
