"""``StoreSource``: models from the registry (versions and aliases in the metadata store, each
version's artifact tree materialised once into the registry's cache, ``.tether/cache/models/``,
shared with ``tether.models.load``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tether.errors import TetherError
from tether.serving.errors import ServingError
from tether.serving.source import Ref

if TYPE_CHECKING:
    from tether.store import Store
    from tether.workspace import Workspace


class StoreSource:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()

    def version_of(self, ref: Ref) -> int:
        from tether.models.fetch import model_version
        from tether.models.refs import ModelRef

        # until the store is open (the prediction log opens it on its first write), one
        # sqlite3 query answers on SQLite: start-up imports no SQLAlchemy
        wanted = ModelRef(ref.name, version=ref.version, alias=ref.alias)
        try:
            return model_version(wanted, workspace=self.workspace).version
        except TetherError as e:
            raise ServingError(f"cannot resolve {ref}: {e}") from None

    def folder(self, name: str, version: int) -> Path:
        from tether.models.fetch import cached_tree, model_version
        from tether.models.refs import ModelRef

        ws = self.workspace
        mv = model_version(ModelRef(name, version=version), workspace=ws)

        with self._lock:  # keyed by the artifact digest: a folder there is complete
            try:
                return cached_tree(ws, mv.artifact_digest)
            except TetherError as e:
                raise ServingError(
                    f"cannot fetch model {name!r} version {version} "
                    f"(tree {mv.artifact_digest}): {e}"
                ) from None

    def __repr__(self) -> str:
        return f"StoreSource({self.workspace!r})"


class StoreOnUse:
    """The workspace's metadata store, opened when first used (the prediction log's first
    write, the first ``/metrics`` scrape), not while the server starts: opening imports
    SQLAlchemy and checks the schema, a good part of the start-up of a small model."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:  # one store, whichever thread asks first
            opened = self._workspace.store
        return getattr(opened, name)

    def add_prediction_segment(self, project: str, model: str, **kw: Any) -> Any:
        """Through ``sqlite3`` while the store is not open (a SQLite store: see
        ``tether.store.sqlite_write``), else through the store."""
        ws = self._workspace
        if not ws.store_opened:
            from tether.store.sqlite_write import add_prediction_segment

            done = add_prediction_segment(
                ws.settings.store_url, project, model, **self._sqlite_settings(), **kw
            )
            if done is not None:
                return done
        return self.__getattr__("add_prediction_segment")(project, model, **kw)

    def prepare_segments(self) -> None:
        """Open what ``add_prediction_segment`` uses (this thread's ``sqlite3`` connection) now,
        not at the first segment."""
        ws = self._workspace
        if not ws.store_opened:
            from tether.store.sqlite_write import connect

            connect(ws.settings.store_url, **self._sqlite_settings())

    def _sqlite_settings(self) -> dict[str, Any]:
        settings = self._workspace.settings
        return {
            "busy_timeout_s": float(settings["store.busy_timeout_s"]),
            "synchronous": str(settings["store.sqlite_synchronous"]),
        }

    def __repr__(self) -> str:
        return f"StoreOnUse({self._workspace!r})"


def store_on_use(workspace: Workspace) -> Store:
    """``workspace.store``, opened when first used (see ``StoreOnUse``)."""
    return cast("Store", StoreOnUse(workspace))
