"""The stores a process tracks into, opened once per workspace and shared by its runs."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from tether.store.errors import DeferredWriteFailed
from tether.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from tether.config import Settings
    from tether.objects import ObjectStore
    from tether.store import Store


# Run records are written in batches at most this long after a run starts or ends.
FLUSH_S = 0.5


class Session:
    """What runs of one workspace share: its store, and the ticker that flushes it."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.settings: Settings = workspace.settings
        self._flusher: int | None = None

    @property
    def store(self) -> Store:
        """The workspace's store (opened again if the workspace was closed meanwhile)."""
        return self.workspace.store

    @property
    def objects(self) -> ObjectStore:
        return self.workspace.objects

    @property
    def project(self) -> str:
        return self.settings.project

    def flush_in_background(self) -> None:
        """Have the ticker write this store's deferred run records every ``FLUSH_S``."""
        if self._flusher is None:
            from tether.tracking.ticker import ticker

            self._flusher = ticker.add(FLUSH_S, self._flush)

    def _flush(self) -> None:
        try:
            self.store.flush()
        except DeferredWriteFailed as e:  # the others were written; these are dropped
            log.error("%s", e)
        except Exception as e:  # kept queued; the next flush or the exit tries again
            log.warning("writing run records to %s failed, will retry: %s", self.store.url, e)


log = logging.getLogger(__name__)

_lock = threading.Lock()
_sessions: dict[tuple[str, str, str], Session] = {}


def open_session(
    workspace: Workspace | str | os.PathLike[str] | None = None, *, project: str | None = None
) -> Session:
    """The session of ``workspace``: a :class:`Workspace`, or the shared workspace found from
    a folder (default: the current one). One session per store, objects and project."""
    if not isinstance(workspace, Workspace):
        workspace = open_workspace(workspace, project=project)
    elif project is not None and project != workspace.project:
        workspace = open_workspace(workspace.root, **workspace.overrides, project=project)
    key = workspace.key
    with _lock:
        session = _sessions.get(key)
    if session is not None:
        return session
    with _lock:
        session = _sessions.get(key)
        if session is None:
            workspace.store.get_or_create_project(workspace.project)
            session = _sessions[key] = Session(workspace)
        return session


def flush_sessions() -> None:
    """Write every open store's deferred run records now."""
    with _lock:
        sessions = list(_sessions.values())
    for session in sessions:
        session.store.flush()


def close_sessions() -> None:
    from tether.workspace import close_workspaces

    with _lock:
        sessions = list(_sessions.values())
        _sessions.clear()
    for session in sessions:
        if session._flusher is not None:
            from tether.tracking.ticker import ticker

            ticker.remove(session._flusher)
        try:
            session.workspace.close()  # writes what is deferred first
        except Exception as e:  # the process is going down; say so and carry on
            url = session.store.url
            print(f"tether: could not write run records to {url}: {e}", file=sys.stderr)
    close_workspaces()


atexit.register(close_sessions)
