"""``StoreSource``: models from the registry (versions and aliases in the metadata store, each
version's artifact tree materialised once into the registry's cache, ``.tether/cache/models/``,
shared with ``tether.models.load``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tether.errors import TetherError
from tether.serving.errors import ServingError
from tether.serving.source import Ref

if TYPE_CHECKING:
    from tether.workspace import Workspace


class StoreSource:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()

    def version_of(self, ref: Ref) -> int:
        ws = self.workspace
        try:
            if ref.version is not None:
                return ws.store.get_model_version(ws.project, ref.name, ref.version).version
            return ws.store.get_alias(ws.project, ref.name, str(ref.alias)).version
        except TetherError as e:
            raise ServingError(f"cannot resolve {ref}: {e}") from None

    def folder(self, name: str, version: int) -> Path:
        ws = self.workspace
        mv = ws.store.get_model_version(ws.project, name, version)
        from tether.models.fetch import cached_tree

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
