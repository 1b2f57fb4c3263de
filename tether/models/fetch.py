"""``tether.models.load("churn@champion")``: a reference resolved to a version, its tree put
into the local cache once (every file verified), then loaded with ``load_model``.

The cache is ``.tether/cache/models/<tree digest>/``: a tree's content never changes, so a
second load of any reference to the same tree reads the folder already there (``load_model``
still checks every file against the manifest's digests).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tether.models.loaded import LoadedModel
    from tether.models.refs import ModelRef
    from tether.store import ModelVersion
    from tether.workspace import Workspace


def workspace_of(workspace: Workspace | str | os.PathLike[str] | None) -> Workspace:
    from tether.workspace import Workspace, open_workspace

    return workspace if isinstance(workspace, Workspace) else open_workspace(workspace)


def model_version(
    ref: str | ModelRef, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> ModelVersion:
    """The version ``ref`` names (``name``, ``name@3``, ``name@alias``)."""
    from tether.models.refs import ModelRef, resolve

    ws = workspace_of(workspace)
    parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
    if not ws.store_opened:  # a process that only loads a model: one query, no SQLAlchemy
        found = _read_light(ws, parsed)
        if found is not None:
            return found
    return resolve(ws.store, ws.project, parsed)


def _read_light(ws: Workspace, ref: ModelRef) -> ModelVersion | None:
    """The version from a SQLite store's file directly; ``None`` where the store must answer
    (another database, a row not found, a schema this read does not know)."""
    if ref.alias is None and ref.version is None:
        return None  # the latest version: the store lists them
    from tether.store.sqlite_read import read_model_version

    settings = ws.settings
    return read_model_version(
        settings.store_url,
        settings.project,
        ref.name,
        alias=ref.alias,
        version=ref.version,
        busy_timeout_s=float(settings["store.busy_timeout_s"]),
    )


def model_folder(
    ref: str | ModelRef | ModelVersion,
    *,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> Path:
    """The local folder holding the version's files (fetched into the cache once)."""
    from tether.store import ModelVersion

    ws = workspace_of(workspace)
    version = ref if isinstance(ref, ModelVersion) else model_version(ref, workspace=ws)
    return cached_tree(ws, version.artifact_digest)


def cached_tree(workspace: Workspace, digest: str) -> Path:
    folder = workspace.dir / "cache" / "models" / digest
    if not folder.is_dir():  # get_tree verifies each file and renames the whole folder in
        workspace.objects.get_tree(digest, folder)
    return folder


def load(
    ref: str | ModelRef,
    *,
    trust: bool = False,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> LoadedModel:
    """Load the model version ``ref`` names; see ``load_model`` for ``trust``.

    Inside an active run the version is recorded as one of the run's inputs.
    """
    from tether.models.errors import CorruptModel
    from tether.models.loaded import load_model

    ws = workspace_of(workspace)
    version = model_version(ref, workspace=ws)
    folder = cached_tree(ws, version.artifact_digest)
    try:
        loaded = load_model(folder, trust=trust)
    except CorruptModel:  # the cached copy was damaged: fetch it again from the objects
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        loaded = load_model(cached_tree(ws, version.artifact_digest), trust=trust)
    loaded.version = version
    _record_input(version)
    return loaded


def _record_input(version: ModelVersion) -> None:
    import sys

    lifecycle = sys.modules.get("tether.tracking.lifecycle")  # no run without it: skip importing
    if lifecycle is None:
        return
    run = lifecycle.active()
    if run is not None:
        run.log_input(version, name=version.model)
