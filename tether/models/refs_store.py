"""Model references (``name``, ``name@3``, ``name@champion``) resolved against the metadata
store, and the version's artifact loaded from the workspace's objects.

A stand-in for the registry's ``load``: the evaluation and gate code calls only
``resolve_model`` and ``load_ref``, so that this module can be swapped for the registry's.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from tether.errors import InvalidInput
from tether.store.errors import ModelVersionNotFound

if TYPE_CHECKING:
    from tether.models.load import LoadedModel
    from tether.store import ModelVersion
    from tether.workspace import Workspace


def _workspace(workspace: Workspace | str | os.PathLike[str] | None) -> Workspace:
    from tether.workspace import Workspace, open_workspace

    return workspace if isinstance(workspace, Workspace) else open_workspace(workspace)


def resolve_model(
    ref: str, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> ModelVersion:
    """The version ``ref`` names: ``name`` (the latest), ``name@3`` or ``name@alias``."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(
            f"a model reference is a string like 'churn', 'churn@3' or 'churn@champion', "
            f"not {ref!r}"
        )
    ws = _workspace(workspace)
    store, project = ws.store, ws.project
    name, sep, tail = ref.rpartition("@")
    if not sep:
        versions = store.list_model_versions(project, ref)  # ModelNotFound names the model
        if not versions:
            raise ModelVersionNotFound(project, ref, 1)
        return max(versions, key=lambda v: v.version)
    if not name or not tail:
        raise InvalidInput(
            f"model reference {ref!r} is malformed; write 'name', 'name@3' or 'name@alias'"
        )
    if tail.isdigit():
        return store.get_model_version(project, name, int(tail))
    return store.get_alias(project, name, tail)


def load_ref(
    ref: str, trust: bool = False, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> LoadedModel:
    """Load the version ``ref`` names from a cached copy of its artifact tree
    (``.tether/cache/models/<tree digest>/``, written once, every file verified); a damaged
    copy is written again from the objects."""
    from tether.models.errors import CorruptModel
    from tether.models.load import load_model

    ws = _workspace(workspace)
    version = resolve_model(ref, workspace=ws)
    folder = ws.dir / "cache" / "models" / version.artifact_digest
    if folder.is_dir():
        try:
            return load_model(folder, trust=trust)
        except CorruptModel:
            shutil.rmtree(folder, ignore_errors=True)
    ws.objects.get_tree(version.artifact_digest, folder)  # CorruptObject: nothing written
    return load_model(folder, trust=trust)
