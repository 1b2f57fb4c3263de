"""The stores a process tracks into, opened once per workspace and shared by its runs."""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tether.config import Settings, find_workspace, load_settings
from tether.config.settings import user_config_path

if TYPE_CHECKING:
    from tether.objects import ObjectStore
    from tether.store import Store


@dataclass
class Session:
    settings: Settings
    store: Store
    objects: ObjectStore

    @property
    def project(self) -> str:
        return self.settings.project


_lock = threading.Lock()
_sessions: dict[tuple[str, str, str], Session] = {}
_by_source: dict[tuple[object, ...], Session] = {}


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def open_session(workspace: Path | str | None = None, *, project: str | None = None) -> Session:
    """The session for the workspace found from ``workspace`` (default: the current folder).

    Settings are resolved again only when their sources change (the config files, the
    ``TETHER_*`` environment), so starting many runs in one process stays cheap.
    """
    ws = find_workspace(workspace)
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("TETHER_")))
    source = (ws.root, project, env, _mtime(ws.config_path), _mtime(user_config_path(os.environ)))
    with _lock:
        cached = _by_source.get(source)
    if cached is not None:
        return cached
    settings = load_settings(ws, {"core.project": project})
    key = (settings.store_url, settings.objects_url, settings.project)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            from tether.objects import ObjectStore
            from tether.store import open_store_from_settings

            store = open_store_from_settings(settings)
            store.get_or_create_project(settings.project)
            session = Session(settings, store, ObjectStore.from_settings(settings))
            _sessions[key] = session
        _by_source[source] = session
        return session


def close_sessions() -> None:
    with _lock:
        for session in _sessions.values():
            session.store.close()
        _sessions.clear()
        _by_source.clear()


atexit.register(close_sessions)
