"""The stores a process tracks into, opened once per workspace and shared by its runs."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tether.config import Settings, find_workspace, load_settings
from tether.config.settings import user_config_path
from tether.store.errors import DeferredWriteFailed

if TYPE_CHECKING:
    from tether.objects import ObjectStore
    from tether.store import Store


# Run records are written in batches at most this long after a run starts or ends.
FLUSH_S = 0.5


@dataclass
class Session:
    settings: Settings
    store: Store
    objects: ObjectStore
    _flusher: int | None = None

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
_by_source: dict[tuple[object, ...], Session] = {}


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _tether_environment() -> tuple[tuple[object, object], ...]:
    """The ``TETHER_*`` variables; scanned as bytes where the OS allows, which skips decoding
    every variable on each run start."""
    if os.supports_bytes_environ:
        env = os.environb
        return tuple(sorted((k, env[k]) for k in env if k.startswith(b"TETHER_")))
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("TETHER_")))


def open_session(workspace: Path | str | None = None, *, project: str | None = None) -> Session:
    """The session for the workspace found from ``workspace`` (default: the current folder).

    Settings are resolved again only when their sources change (the config files, the
    ``TETHER_*`` environment), so starting many runs in one process stays cheap.
    """
    ws = find_workspace(workspace)
    env = _tether_environment()
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


def flush_sessions() -> None:
    """Write every open store's deferred run records now."""
    with _lock:
        sessions = list(_sessions.values())
    for session in sessions:
        session.store.flush()


def close_sessions() -> None:
    with _lock:
        sessions = list(_sessions.values())
        _sessions.clear()
        _by_source.clear()
    for session in sessions:
        if session._flusher is not None:
            from tether.tracking.ticker import ticker

            ticker.remove(session._flusher)
        try:
            session.store.close()  # writes what is deferred first
        except Exception as e:  # the process is going down; say so and carry on
            url = session.store.url
            print(f"tether: could not write run records to {url}: {e}", file=sys.stderr)


atexit.register(close_sessions)
