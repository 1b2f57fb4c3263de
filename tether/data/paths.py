"""Where data may live: inside the workspace, outside its ``.tether/`` folder."""

from __future__ import annotations

import os
from pathlib import Path

from tether.config import Workspace
from tether.data.errors import InsideDataset, OutsideWorkspace, WholeWorkspace
from tether.data.pointer_files import SUFFIX


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def inside_workspace(workspace: Workspace, path: str | os.PathLike[str]) -> Path:
    """The absolute path of ``path``; OutsideWorkspace when it (or its target) is outside."""
    absolute = os.path.abspath(os.fspath(path))
    root = os.path.realpath(workspace.root)
    real = os.path.realpath(absolute)
    if real == root or _within(root, real):
        raise WholeWorkspace(os.fspath(path), str(workspace.root))
    if not _within(real, root):
        raise OutsideWorkspace(os.fspath(path), str(workspace.root))
    if _within(real, os.path.realpath(workspace.dir)):
        raise OutsideWorkspace(os.fspath(path), str(workspace.root) + " (it is in .tether/)")
    return Path(absolute)


def relative(workspace: Workspace, path: Path) -> str:
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
