"""Where data may live: inside the workspace, outside its ``.tether/`` folder."""

from __future__ import annotations

import os
from pathlib import Path

from tether.config import Workspace
from tether.data.errors import OutsideWorkspace


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def inside_workspace(workspace: Workspace, path: str | os.PathLike[str]) -> Path:
    """The absolute path of ``path``; OutsideWorkspace when it (or its target) is outside."""
    absolute = os.path.abspath(os.fspath(path))
    root = os.path.realpath(workspace.root)
    real = os.path.realpath(absolute)
    if not _within(real, root) or real == root:
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
