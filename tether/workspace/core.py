"""One workspace: its folder, its settings (resolved once), its store and objects (opened on
first use, so that a command that needs neither never pays for them)."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from tether.config import Settings, WorkspaceDir, find_workspace, load_settings
from tether.config.errors import InvalidSetting

if TYPE_CHECKING:
    from tether.objects import ObjectStore
    from tether.store import Store


def _aliases() -> dict[str, str]:
    from tether.config.settings import SETTINGS

    names: dict[str, str] = {}
    for s in SETTINGS:
        section, _, name = s.key.partition(".")
        names[s.key] = s.key
        names[f"{section}_{name}"] = s.key  # store_url, objects_url, objects_workers, ...
        if section == "core":
            names[name] = s.key  # project, remote
    return names


def settings_flags(overrides: dict[str, Any]) -> dict[str, Any]:
    """Keyword overrides (``project=``, ``store_url=``, or a dotted key) as settings flags;
    relative paths are taken from the current folder, as a command-line flag's are."""
    from tether.config.settings import resolve_relative

    names = _aliases()
    flags: dict[str, Any] = {}
    for name, value in overrides.items():
        key = names.get(name)
        if key is None:
            known = ", ".join(sorted(n for n in names if "." not in n))
            raise InvalidSetting(f"unknown setting {name!r}; known settings: {known}")
        if value is not None:
            flags[key] = resolve_relative(key, value, Path.cwd())
    return flags


class Workspace:
    """A Tether workspace: ``Workspace(path, **overrides)`` finds the ``.tether/`` folder
    from ``path`` (default: the current folder); ``overrides`` are settings such as
    ``project=``, ``store_url=``, ``objects_url=`` that win over every other source."""

    def __init__(self, path: str | os.PathLike[str] | None = None, **overrides: Any) -> None:
        self.location: WorkspaceDir = find_workspace(path)
        self.overrides: dict[str, Any] = settings_flags(overrides)
        self._settings: Settings | None = None
        self._key: tuple[str, str, str] | None = None
        self._store: Store | None = None
        self._objects: ObjectStore | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Workspace:
        """A workspace whose settings are already resolved (they must belong to a workspace)."""
        if settings.workspace is None:
            raise InvalidSetting("these settings belong to no workspace; run `tether init`")
        ws = cls.__new__(cls)
        ws.location = settings.workspace
        ws.overrides = {}
        ws._settings = settings
        ws._key = None
        ws._store = None
        ws._objects = None
        return ws

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    @property
    def root(self) -> Path:
        return self.location.root

    @property
    def dir(self) -> Path:
        """The ``.tether/`` folder."""
        return self.location.dir

    @property
    def config_path(self) -> Path:
        return self.location.config_path

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.location, self.overrides)
        return self._settings

    @property
    def project(self) -> str:
        return self.settings.project

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the data this workspace reads and writes."""
        if self._key is None:
            settings = self.settings
            self._key = (settings.store_url, settings.objects_url, settings.project)
        return self._key

    @property
    def store(self) -> Store:
        """The metadata store, opened (and migrated) on first use."""
        if self._store is None:
            from tether.store import open_store_from_settings

            self._store = open_store_from_settings(self.settings)
        return self._store

    @property
    def objects(self) -> ObjectStore:
        if self._objects is None:
            from tether.objects import ObjectStore

            self._objects = ObjectStore.from_settings(self.settings)
        return self._objects

    @property
    def store_opened(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        """Write what the store has deferred and close it; a later use opens it again."""
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
