"""``tether.dataset("name@3")`` and ``tether.data_add(path)``: dataset versions from Python.

Reading a dataset (``.path()``, ``.to_pandas()``, ``.to_arrow()``) inside an active run records
the version as an input of that run; a version added inside a run records the run as its maker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tether.data import DataRepo, cached_path, find_pointers, resolve
from tether.data import add as _add
from tether.data import files as _files
from tether.data.dataset_ref import DatasetRef
from tether.data.paths import relative
from tether.data.table import read_arrow, read_pandas, table_file
from tether.objects.tree import TreeEntry
from tether.store import DatasetVersion
from tether.tracking import lifecycle
from tether.tracking.recorder import RunRecorder
from tether.tracking.session import open_session
from tether.workspace import Workspace


def _repo(workspace: Workspace | str | os.PathLike[str] | None) -> DataRepo:
    session = open_session(workspace)
    return DataRepo(session.workspace, workers=session.settings.objects_workers)


class DatasetHandle:
    """One dataset version: its files, a local read-only copy, and its table if it is one."""

    def __init__(self, repo: DataRepo, version: DatasetVersion) -> None:
        self._repo = repo
        self.dataset_version = version
        self._recorded: set[str] = set()

    def __repr__(self) -> str:
        return f"DatasetHandle({self.ref!r}, tree={self.tree_digest[:12]})"

    @property
    def name(self) -> str:
        return self.dataset_version.dataset

    @property
    def version(self) -> int:
        return self.dataset_version.version

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tree_digest(self) -> str:
        return self.dataset_version.tree_digest

    @property
    def message(self) -> str | None:
        return self.dataset_version.message

    def files(self) -> list[TreeEntry]:
        """The version's files (path, digest, size, mode), sorted by path."""
        return _files(self._repo, self.dataset_version)

    def path(self) -> Path:
        """A read-only local copy in ``.tether/cache/datasets/<tree digest>/`` (made once)."""
        self._record()
        return cached_path(self._repo, self.dataset_version)

    def _table_path(self) -> Path:
        entry = table_file(self.ref, self.files())
        return self.path() / entry.path

    def to_arrow(self) -> Any:
        """The single table (Parquet or CSV) as a ``pyarrow.Table``."""
        return read_arrow(self._table_path())

    def to_pandas(self) -> Any:
        """The single table (Parquet or CSV) as a ``pandas.DataFrame``."""
        return read_pandas(self._table_path())

    def _record(self) -> None:
        """Inside an active run, record this version as one of its inputs (once)."""
        run = lifecycle.active()
        if run is None or run.id in self._recorded:
            return
        run.log_input(self.dataset_version, name=self._workspace_path())
        self._recorded.add(run.id)

    def _workspace_path(self) -> str | None:
        """Where the dataset lives in the workspace (its pointer's data), if it has one."""
        for p in find_pointers(self._repo.workspace.root):
            if p.name == self.name and p.kind == "folder":
                return relative(self._repo.workspace, p.data_path)
        return None


def dataset(
    ref: str | DatasetRef, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> DatasetHandle:
    """The dataset version ``ref`` names: ``"name"`` or ``"name@latest"`` (the latest),
    ``"name@3"``, or a :class:`DatasetRef`.

    Inside a pipeline step the version it resolves to is recorded as an input of the step's
    run, and the step's cached result is used only while ``ref`` still resolves to it.
    """
    parsed = DatasetRef.parse(ref)
    repo = _repo(workspace)
    version = resolve(repo, parsed.name if parsed.version is None else parsed.ref)
    run = lifecycle.active()
    if isinstance(run, RunRecorder):
        run.note_dataset(parsed.ref, version.dataset, version.version)
    return DatasetHandle(repo, version)


def add(
    path: str | os.PathLike[str],
    name: str | None = None,
    message: str | None = None,
    *,
    workspace: Workspace | str | os.PathLike[str] | None = None,
    pointer: bool = True,
) -> DatasetVersion:
    """Version ``path`` (file, folder or table) as the next version of dataset ``name``.

    Identical content to the latest version returns that version. Inside an active run, the
    run is recorded as the version's maker.
    """
    repo = _repo(workspace)
    run = lifecycle.active()
    result = _add(
        repo,
        path,
        name=name,
        message=message,
        run_id=run.id if run is not None else None,
        pointer=pointer,
    )
    return result.version
