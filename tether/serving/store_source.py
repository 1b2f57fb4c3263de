"""``StoreSource``: models from the metadata store (versions, aliases) and the object store
(each version's artifact tree), materialised once into a cache folder.

The model registry will offer the same (``name@alias`` to a loaded model); at merge this module
is the one place to point at it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tether.errors import TetherError
from tether.serving.errors import ServingError
from tether.serving.source import Ref

if TYPE_CHECKING:
    from tether.workspace import Workspace


class StoreSource:
    def __init__(self, workspace: Workspace, cache: str | os.PathLike[str] | None = None) -> None:
        self.workspace = workspace
        self.cache = Path(cache) if cache is not None else workspace.dir / "cache" / "serving"
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
        # keyed by the artifact digest: a folder there is complete (get_tree renames it into place)
        dest = self.cache / mv.artifact_digest
        with self._lock:
            if not dest.is_dir():
                try:
                    ws.objects.get_tree(mv.artifact_digest, dest)
                except TetherError as e:
                    raise ServingError(
                        f"cannot fetch model {name!r} version {version} "
                        f"(tree {mv.artifact_digest}): {e}"
                    ) from None
        return dest

    def __repr__(self) -> str:
        return f"StoreSource({self.workspace!r})"
