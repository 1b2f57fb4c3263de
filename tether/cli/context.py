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
    from tether.config import Settings, WorkspaceDir
    from tether.data import DataRepo
    from tether.objects import ObjectStore
    from tether.store import Store
    from tether.tracking.session import Session
    from tether.workspace import Workspace


@dataclass
class CliContext:
    workspace_dir: Path | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    _workspace: Workspace | None = None
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
        """The command's workspace, under the flags; it opens its stores on first use."""
        if self._workspace is None:
            from tether.workspace import Workspace

            self._workspace = Workspace(self.workspace_dir, **self.flags)
        return self._workspace

    def location(self) -> WorkspaceDir:
        return self.workspace().location

    def settings(self) -> Settings:
        return self.workspace().settings

    def store(self) -> Store:
        return self.workspace().store

    def objects(self) -> ObjectStore:
        return self.workspace().objects

    def data_repo(self) -> DataRepo:
        from tether.data import DataRepo

        workspace = self.workspace()
        return DataRepo(workspace, workers=workspace.settings.objects_workers)

    def session(self) -> Session:
        """The tracking session of this workspace, under the flags (exported by the root)."""
        from tether.tracking.session import open_session

        return open_session(self.workspace().root, project=self.settings().project)

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
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
