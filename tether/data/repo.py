"""What every data operation works on: a workspace (its folder, store and objects) and the
workspace's stat cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.data.statcache import StatCache

if TYPE_CHECKING:
    from tether.objects import ObjectStore
    from tether.store import Store
    from tether.workspace import Workspace


class DataRepo:
    """The data side of a :class:`~tether.workspace.Workspace`. The workspace opens its
    metadata store on first use, so ``status`` and pointer checkouts never open it."""

    def __init__(self, workspace: Workspace, *, workers: int | None = None) -> None:
        self.workspace = workspace
        self.workers = workers
        self._cache: StatCache | None = None

    def __repr__(self) -> str:
        return f"DataRepo({str(self.workspace.root)!r})"

    @property
    def lock_timeout_s(self) -> float:
        """Seconds ``add`` and ``checkout`` wait for another command on the same data."""
        return float(self.workspace.settings["data.lock_timeout_s"])

    @property
    def store(self) -> Store:
        return self.workspace.store

    @property
    def objects(self) -> ObjectStore:
        return self.workspace.objects

    @property
    def project(self) -> str:
        return self.workspace.project

    def stat_cache(self) -> StatCache:
        """The workspace's stat cache, loaded once per repo object."""
        if self._cache is None:
            self._cache = StatCache.for_workspace(self.workspace.dir)
        return self._cache
