"""What every command needs: the workspace, the settings, the stores, opened on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tether.config import Settings, Workspace
    from tether.objects import ObjectStore
    from tether.store import Store


@dataclass
class CliContext:
    workspace_dir: Path | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _store: Store | None = None
    _objects: ObjectStore | None = None

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

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def get(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
