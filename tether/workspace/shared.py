"""The workspaces that the module-level API (``tether.run``, ``tether.dataset``, ...) works
on: one per workspace folder and settings, shared by everything in the process.

Settings are resolved again only when their sources change (the config files, the
``TETHER_*`` environment), so that starting many runs in one process stays cheap; workspaces
whose settings name the same store, objects and project are one object, so that they share
one metadata store (a process always reads its own deferred writes).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from pathlib import Path
from typing import Any

from tether.config import find_workspace, load_settings
from tether.config.locate import DIRNAME, find_root
from tether.config.settings import tether_environment, user_config_path
from tether.config.workspace import CONFIG_NAME, WorkspaceDir
from tether.workspace.core import Workspace, settings_flags

_lock = threading.Lock()
_by_key: dict[tuple[str, str, str], Workspace] = {}
_by_source: dict[tuple[object, ...], Workspace] = {}


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def open_workspace(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Workspace:
    """The shared workspace found from ``path`` (default: the current folder)."""
    root = find_root(path)
    if root is None:
        find_workspace(path)  # raises WorkspaceNotFound, saying where it looked
        raise AssertionError("unreachable")
    flags = (
        tuple(sorted((k, str(v)) for k, v in overrides.items() if v is not None))
        if overrides
        else ()
    )
    environ = os.environ
    source = (
        root,
        flags,
        tether_environment(),
        _mtime(os.path.join(root, DIRNAME, CONFIG_NAME)),
        _mtime(_user_config_file(environ.get("XDG_CONFIG_HOME"), environ.get("HOME"))),
    )
    with _lock:
        cached = _by_source.get(source)
    if cached is not None:
        return cached
    settings = load_settings(WorkspaceDir(Path(root)), settings_flags(overrides))
    key = (settings.store_url, settings.objects_url, settings.project)
    with _lock:
        workspace = _by_key.get(key)
        if workspace is None:
            workspace = _by_key[key] = Workspace.from_settings(settings)
        _by_source[source] = workspace
        return workspace


@functools.lru_cache(maxsize=8)  # a string made once: this runs on every run start
def _user_config_file(xdg: str | None, home: str | None) -> str:
    return str(user_config_path({"XDG_CONFIG_HOME": xdg} if xdg is not None else {}))


def shared_workspaces() -> list[Workspace]:
    with _lock:
        return list(_by_key.values())


def close_workspaces() -> None:
    """Close every shared workspace's store (writing what it deferred); later uses reopen."""
    with _lock:
        workspaces = list(_by_key.values())
        _by_key.clear()
        _by_source.clear()
    for workspace in workspaces:
        try:
            workspace.close()
        except Exception as e:  # the process may be going down; say so and carry on
            url = workspace.settings.store_url
            print(f"tether: could not write run records to {url}: {e}", file=sys.stderr)
