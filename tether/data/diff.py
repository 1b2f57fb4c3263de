"""Diff two dataset versions: files added, removed and modified, and what changed in tables.

Files are compared by their tree entries only (path, digest, size, mode), so a diff of two
200,000-file versions reads two manifests and no file. Table files (Parquet, CSV) that changed,
or the single files of two one-table versions, are then summarised with
:func:`tether.data.table_summary.summarize_table` and compared column by column.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tether.data.ref import get_version
from tether.data.table_summary import (
    TableDiff,
    TableSummary,
    UnreadableTable,
    compare_summaries,
    summarize_table,
    table_format,
)
from tether.errors import IntegrityError, MissingDependency, NotFound
from tether.objects import CorruptObject, ObjectNotFound, ObjectStore, Tree, TreeEntry

if TYPE_CHECKING:
    from tether.store import DatasetVersion, Store

MAX_TABLES = 20
"""Modified table files summarised per diff by default; the rest are counted as skipped."""


@dataclass(frozen=True)
class WorkspaceFiles:
    """The new side of a diff against the files on disk (``tether data diff NAME@N``)."""

    dataset: str
    path: str
    """The data's path, relative to the workspace."""
    tree_digest: str
    file_count: int
    total_size: int


def format_ref(v: DatasetVersion | WorkspaceFiles) -> str:
    if isinstance(v, WorkspaceFiles):
        return f"{v.path} (workspace)"
    return f"{v.dataset}@{v.version}"


# -- files ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileModified:
    """A path present in both versions with another digest (or another executable bit)."""

    old: TreeEntry
    new: TreeEntry

    @property
    def path(self) -> str:
        return self.new.path

    @property
    def delta(self) -> int:
        return self.new.size - self.old.size


@dataclass(frozen=True)
class TreeDiff:
    """Entries sorted by path; ``unchanged`` counts paths with the same digest and mode."""

    added: tuple[TreeEntry, ...]
    removed: tuple[TreeEntry, ...]
    modified: tuple[FileModified, ...]
    unchanged: int

    @property
    def added_size(self) -> int:
        return sum(e.size for e in self.added)

    @property
    def removed_size(self) -> int:
        return sum(e.size for e in self.removed)

    @property
    def modified_delta(self) -> int:
        return sum(m.delta for m in self.modified)

    @property
    def size_delta(self) -> int:
        return self.added_size - self.removed_size + self.modified_delta

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.modified)


_KEY = attrgetter("path", "digest", "mode")


def diff_trees(a: Tree, b: Tree) -> TreeDiff:
    """Compare two trees by their entries alone (no object is read).

    The common case (most entries equal) runs in C: entries become (path, digest, mode)
    keys, set differences find the few that changed, and only those reach Python code.
    """
    keys_a = list(map(_KEY, a.entries))
    keys_b = list(map(_KEY, b.entries))
    set_a, set_b = set(keys_a), set(keys_b)
    only_a, only_b = set_a - set_b, set_b - set_a
    changed_a = list(compress(a.entries, map(only_a.__contains__, keys_a)))
    changed_b = list(compress(b.entries, map(only_b.__contains__, keys_b)))
    old = {e.path: e for e in changed_a}
    new_paths = {e.path for e in changed_b}
    added: list[TreeEntry] = []
    modified: list[FileModified] = []
    for e in changed_b:
        o = old.get(e.path)
        if o is None:
            added.append(e)
        else:
            modified.append(FileModified(o, e))
    removed = [e for e in changed_a if e.path not in new_paths]
    added.sort(key=lambda e: e.path)
    removed.sort(key=lambda e: e.path)
    modified.sort(key=lambda m: m.path)
    return TreeDiff(tuple(added), tuple(removed), tuple(modified), len(set_b) - len(only_b))


# -- versions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetDiff:
    """Version ``a`` compared with version ``b`` (b is "new"): files, then tables."""

    a: DatasetVersion
    b: DatasetVersion | WorkspaceFiles
    files: TreeDiff
    tables: tuple[TableDiff, ...] = ()
    tables_skipped: int = 0
    tables_unavailable: str | None = None
    """Why no table was summarised when an optional package is missing (its install hint)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``tether data diff --json`` (see docs in the CLI command)."""
        f = self.files
        return {
            "a": _version_dict(self.a),
            "b": _version_dict(self.b),
            "summary": {
                "added": len(f.added),
                "removed": len(f.removed),
                "modified": len(f.modified),
                "unchanged": f.unchanged,
                "added_size": f.added_size,
                "removed_size": f.removed_size,
                "modified_delta": f.modified_delta,
                "size_delta": f.size_delta,
            },
            "added": [_entry_dict(e) for e in f.added],
            "removed": [_entry_dict(e) for e in f.removed],
            "modified": [
                {
                    "path": m.path,
                    "old_size": m.old.size,
                    "new_size": m.new.size,
                    "delta": m.delta,
                    "old_digest": m.old.digest,
                    "new_digest": m.new.digest,
                }
                for m in f.modified
            ],
            "tables": [t.to_dict() for t in self.tables],
            "tables_skipped": self.tables_skipped,
            "tables_unavailable": self.tables_unavailable,
        }


def _version_dict(v: DatasetVersion | WorkspaceFiles) -> dict[str, Any]:
    if isinstance(v, WorkspaceFiles):
        return {
            "dataset": v.dataset,
            "version": None,
            "path": v.path,
            "tree_digest": v.tree_digest,
            "files": v.file_count,
            "size": v.total_size,
            "created_at": None,
            "message": None,
        }
    return {
        "dataset": v.dataset,
        "version": v.version,
        "tree_digest": v.tree_digest,
        "files": v.file_count,
        "size": v.total_size,
        "created_at": v.created_at.isoformat(),
        "message": v.message,
    }


def _entry_dict(e: TreeEntry) -> dict[str, Any]:
    return {"path": e.path, "size": e.size, "digest": e.digest}


def resolve(store: Store, project: str, ref: str) -> DatasetVersion:
    """The dataset version a ``NAME`` or ``NAME@VERSION`` reference names."""
    return get_version(store, project, ref)


def diff_versions(
    store: Store,
    objects: ObjectStore,
    project: str,
    ref_a: str,
    ref_b: str,
    *,
    tables: bool = True,
    max_tables: int = MAX_TABLES,
) -> DatasetDiff:
    """Diff ``ref_a`` (old) against ``ref_b`` (new); refs are ``NAME`` or ``NAME@VERSION``.

    With ``tables``, every modified table file (up to ``max_tables``) is summarised in both
    versions and compared; when each version is a single table file, those two are compared
    even if their names differ. Raises NotFound for an unknown dataset or version,
    InvalidInput for a malformed reference or an unreadable table, IntegrityError for a
    corrupted stored object.
    """
    va = resolve(store, project, ref_a)
    vb = resolve(store, project, ref_b)
    tree_a = objects.read_tree(va.tree_digest)
    tree_b = tree_a if vb.tree_digest == va.tree_digest else objects.read_tree(vb.tree_digest)
    return compare(objects, va, tree_a, vb, tree_b, tables=tables, max_tables=max_tables)


def compare(
    objects: ObjectStore,
    va: DatasetVersion,
    tree_a: Tree,
    vb: DatasetVersion | WorkspaceFiles,
    tree_b: Tree,
    *,
    tables: bool = True,
    max_tables: int = MAX_TABLES,
    local_b: dict[str, str] | None = None,
) -> DatasetDiff:
    """The diff of two trees; ``local_b`` maps paths of ``tree_b`` to files on disk to read
    tables from (else they are read from the object store).

    Without pyarrow the files are still compared; the tables are counted as skipped and
    ``tables_unavailable`` says which extra would summarise them.
    """
    files = diff_trees(tree_a, tree_b)
    if not tables:
        return DatasetDiff(va, vb, files)
    pairs = _table_pairs(tree_a, tree_b, files)
    chosen, skipped = pairs[:max_tables], max(0, len(pairs) - max_tables)
    try:
        diffs = tuple(_table_diff(objects, va, vb, old, new, local_b) for old, new in chosen)
    except MissingDependency as e:
        return DatasetDiff(va, vb, files, (), len(pairs), str(e))
    return DatasetDiff(va, vb, files, diffs, skipped)


def _table_pairs(a: Tree, b: Tree, files: TreeDiff) -> list[tuple[TreeEntry, TreeEntry]]:
    if len(a.entries) == 1 and len(b.entries) == 1:
        old, new = a.entries[0], b.entries[0]
        if old.digest != new.digest and table_format(old.path) and table_format(new.path):
            return [(old, new)]
        return []
    return [
        (m.old, m.new)
        for m in files.modified
        if m.old.digest != m.new.digest and table_format(m.path) is not None
    ]


def _table_diff(
    objects: ObjectStore,
    va: DatasetVersion,
    vb: DatasetVersion | WorkspaceFiles,
    old: TreeEntry,
    new: TreeEntry,
    local_b: dict[str, str] | None = None,
) -> TableDiff:
    with tempfile.TemporaryDirectory(prefix="tether-diff-") as tmp:
        summary_a = _summarize_entry(objects, va, old, os.path.join(tmp, "a"))
        if local_b is not None:
            summary_b = _summarize_local(local_b[new.path], new.path, vb)
        else:
            assert not isinstance(vb, WorkspaceFiles)
            summary_b = _summarize_entry(objects, vb, new, os.path.join(tmp, "b"))
    return compare_summaries(summary_a, summary_b, path_a=old.path, path_b=new.path)


def _summarize_local(source: str, path: str, side: DatasetVersion | WorkspaceFiles) -> TableSummary:
    fmt = table_format(path)
    assert fmt is not None
    try:
        return summarize_table(source, fmt)
    except UnreadableTable as e:
        raise UnreadableTable(f"{path} in {format_ref(side)}", fmt, e.reason) from None


def _summarize_entry(
    objects: ObjectStore, version: DatasetVersion, entry: TreeEntry, folder: str
) -> TableSummary:
    fmt = table_format(entry.path)
    assert fmt is not None
    where = f"{entry.path} in dataset {format_ref(version)}"
    os.makedirs(folder)
    # keep the name: pyarrow picks decompression (.csv.gz) from the extension
    local = os.path.join(folder, os.path.basename(entry.path))
    try:
        objects.get_file(entry.digest, local)
    except CorruptObject as e:
        raise IntegrityError(f"{where}: {e}") from None
    except ObjectNotFound as e:
        raise NotFound(f"{where}: {e}; pull it from a remote or add the data again") from None
    try:
        return summarize_table(local, fmt)
    except UnreadableTable as e:
        raise UnreadableTable(where, fmt, e.reason) from None
