"""Where data may live: inside the workspace, outside its ``.tether/`` folder and any ``.git``."""

from __future__ import annotations

import os
from pathlib import Path

from tether.config.locate import DIRNAME
from tether.data.errors import (
    HoldsDataset,
    InsideDataset,
    OutsideWorkspace,
    ReservedPath,
    WholeWorkspace,
)
from tether.data.pointer_files import SUFFIX

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from tether.config import WorkspaceDir
    from tether.workspace import Workspace

RESERVED = frozenset({".git", DIRNAME})
"""Names that data never takes and checkout never writes: git's repository and the workspace's
folder (a file or folder of that name at any depth belongs to git or to Tether)."""


def is_reserved(name: str) -> bool:
    """Whether a file name is one of :data:`RESERVED` as git would see it on any filesystem
    (case-insensitive, trailing dots and spaces ignored, as Windows and macOS resolve them)."""
    return name.rstrip(". ").casefold() in RESERVED if name[:1] == "." else False


def reserved_part(path: str) -> str | None:
    """The first part of the relative POSIX or OS path ``path`` that is reserved, or None."""
    for part in path.replace(os.sep, "/").split("/"):
        if is_reserved(part):
            return part
    return None


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def inside_workspace(workspace: WorkspaceDir | Workspace, path: str | os.PathLike[str]) -> Path:
    """The absolute path of ``path``; WholeWorkspace when it is the workspace root or holds it,
    OutsideWorkspace when it (or its target) is outside,
    ReservedPath when it is (or lies in) a ``.git`` or ``.tether`` folder."""
    absolute = os.path.abspath(os.fspath(path))
    root = os.path.realpath(workspace.root)
    real = os.path.realpath(absolute)
    if real == root or _within(root, real):
        raise WholeWorkspace(os.fspath(path), str(workspace.root))
    if not _within(real, root):
        raise OutsideWorkspace(os.fspath(path), str(workspace.root))
    if _within(real, os.path.realpath(workspace.dir)):
        raise OutsideWorkspace(os.fspath(path), str(workspace.root) + " (it is in .tether/)")
    for candidate, base in ((absolute, os.path.abspath(workspace.root)), (real, root)):
        if _within(candidate, base):
            part = reserved_part(os.path.relpath(candidate, base))
            if part is not None:
                raise ReservedPath(os.fspath(path), part)
    return Path(absolute)


def relative(workspace: WorkspaceDir | Workspace, path: Path) -> str:
    """``path`` relative to the workspace root, as a POSIX string (for messages and inputs)."""
    try:
        return path.resolve().relative_to(workspace.root.resolve()).as_posix()
    except ValueError:
        return str(path)


def tracked_parent(workspace: Workspace, data: Path) -> tuple[str, str] | None:
    """The folder above ``data`` that is itself tracked data, with its pointer, or None."""
    root = os.path.realpath(workspace.root)
    folder = os.path.dirname(os.path.realpath(data))
    while _within(folder, root) and folder != root:
        pointer = folder + SUFFIX
        if os.path.isfile(pointer):
            return folder, pointer
        folder = os.path.dirname(folder)
    return None


def check_not_inside_dataset(workspace: Workspace, data: Path) -> None:
    """InsideDataset when ``data`` lies inside a folder that is tracked data already."""
    parent = tracked_parent(workspace, data)
    if parent is not None:
        rel = os.path.relpath(parent[0], os.path.realpath(workspace.root))
        raise InsideDataset(str(data), rel, rel + SUFFIX)


def check_holds_no_dataset(data: Path, paths: list[str]) -> None:
    """HoldsDataset when one of ``paths`` (relative to the folder ``data``) is a pointer file
    beside the data it tracks."""
    n = len(SUFFIX)
    for rel in paths:
        if rel.endswith(SUFFIX) and len(rel) > n:
            inner = os.path.join(data, rel[:-n])
            if os.path.lexists(inner):
                raise HoldsDataset(str(data), inner, os.path.join(data, rel))
