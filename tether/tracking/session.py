"""The stores a process tracks into, opened once per workspace and shared by its runs."""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tether.config import Settings, find_workspace, load_settings

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


def open_session(workspace: Path | str | None = None, *, project: str | None = None) -> Session:
    """The session for the workspace found from ``workspace`` (default: the current folder)."""
    settings = load_settings(find_workspace(workspace), {"core.project": project})
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
        return session


def close_sessions() -> None:
    with _lock:
        for session in _sessions.values():
            session.store.close()
        _sessions.clear()


atexit.register(close_sessions)
