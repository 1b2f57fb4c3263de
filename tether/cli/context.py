"""What every command needs: the workspace, the settings, the stores, opened on first use.

The root options (``--project``, ``--store-url``, ``--objects-url``) are settings flags. Commands
that open stores here get them directly; code that opens its own (tracking sessions, pipeline
steps in other processes, a re-run by ``tether reproduce``) gets them as the ``TETHER_*``
variables the command exports while it runs, so every command honours them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tether.config import Settings, Workspace
    from tether.data import DataRepo
    from tether.objects import ObjectStore
    from tether.store import Store
    from tether.tracking.session import Session


@dataclass
class CliContext:
    workspace_dir: Path | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _store: Store | None = None
    _objects: ObjectStore | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.flags = {k: v for k, v in self.flags.items() if v is not None}
        if self.flags:
            from tether.config.settings import resolve_relative

            # flags name paths from the current folder, as any command-line path does
            self.flags = {k: resolve_relative(k, v, Path.cwd()) for k, v in self.flags.items()}

    def export_flags(self) -> None:
        """Put the flags into the environment (``TETHER_*``) until :meth:`close`."""
        from tether.config.settings import BY_KEY

        for key, value in self.flags.items():
            name = BY_KEY[key].env
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = str(value)

    def workspace(self) -> Workspace:
        from tether.config import find_workspace

        return find_workspace(self.workspace_dir)

    def settings(self) -> Settings:
        if self._settings is None:
            from tether.config import load_settings

            self._settings = load_settings(self.workspace(), self.flags)
        return self._settings

    def store(self) -> Store:
        if self._store is None:
            from tether.store import open_store_from_settings

            self._store = open_store_from_settings(self.settings())
        return self._store

    def objects(self) -> ObjectStore:
        if self._objects is None:
            from tether.objects import ObjectStore

            self._objects = ObjectStore.from_settings(self.settings())
        return self._objects

    def data_repo(self) -> DataRepo:
        from tether.data import DataRepo

        settings = self.settings()
        return DataRepo(
            self.workspace(),
            self.store,  # opened only by commands that need it
            self.objects(),
            settings.project,
            workers=settings.objects_workers,
            lock_timeout_s=settings["data.lock_timeout_s"],
        )

    def session(self) -> Session:
        """The tracking session of this workspace, under the flags (exported by the root)."""
        from tether.tracking.session import open_session

        return open_session(self.workspace().root, project=self.settings().project)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()


def get(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
