"""What every data operation works on: the workspace, the metadata store and the objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tether.config import Workspace
from tether.data.statcache import StatCache

if TYPE_CHECKING:
    from tether.objects import ObjectStore
    from tether.store import Store


@dataclass
class DataRepo:
    """``store`` may be a zero-argument callable: the metadata store is then opened on first
    use (``status`` and pointer checkouts never need it)."""

    workspace: Workspace
    store_or_factory: Store | Callable[[], Store]
    objects: ObjectStore
    project: str
    workers: int | None = None
    lock_timeout_s: float = 60.0
    """Seconds ``add`` and ``checkout`` wait for another command on the same data."""
    _cache: StatCache | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if callable(self.store_or_factory) and not hasattr(self.store_or_factory, "close"):
            self.store_or_factory = self.store_or_factory()
        return self.store_or_factory  # type: ignore[return-value]

    def stat_cache(self) -> StatCache:
        """The workspace's stat cache, loaded once per repo object."""
        if self._cache is None:
            self._cache = StatCache.for_workspace(self.workspace.dir)
        return self._cache
