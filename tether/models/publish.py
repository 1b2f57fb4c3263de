"""``tether.models.log``: a model saved, stored as a content-addressed tree and registered as
the next version of its name, bound to the run that made it.

Inside an active run the version is an output of that run; outside one a run is made for it
(experiment ``models``). Inside a pipeline step (which may run in a worker process) the tree is
stored at once and the version number is reserved in the metadata store at once (the one write
a step makes there), so the ``ModelVersion`` returned carries its real number; the version
itself is created under that number when the step's run is recorded, made by that run. A step
that fails leaves its reserved number unused (see docs/models.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.store import ModelVersion
    from tether.workspace import Workspace

EXPERIMENT = "models"


def log(
    model: Any,
    name: str,
    *,
    sample: Any = None,
    flavor: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    trust: bool = False,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> ModelVersion:
    """Register ``model`` as the next version of ``name`` and return that version.

    ``sample`` gives the signature and input example (see ``save_model``), ``flavor`` and
    ``options`` go to ``save_model``; ``metrics`` and ``tags`` are logged to the run that made
    the version. A ``pickle`` model can only ever be loaded with ``trust=True``: logging one
    into the registry needs ``trust=True`` too.
    """
    import tether.tracking.lifecycle as lifecycle
    from tether.models.errors import UntrustedModel
    from tether.store.validate import entity_name
    from tether.tracking.recorder import RunRecorder

    entity_name("model name", name)  # before anything is saved or stored
    if flavor == "pickle" and not trust:
        raise UntrustedModel(
            f"model {name!r} would be stored as a pickle, which runs code when loaded; "
            "pass trust=True to register it anyway, or use a safe flavour"
        )
    active = lifecycle.active()
    if isinstance(active, RunRecorder):
        return _log_in_step(active, model, name, sample, flavor, metrics, tags, options, workspace)
    from tether.tracking.session import open_session

    session = open_session(workspace)
    digest, size, meta = _store_tree(session.objects, model, sample, flavor, options)
    from tether.store import ObjectRecord

    session.store.record_objects([ObjectRecord(digest, size, "tree")])
    signature = None if meta.signature is None else meta.signature.to_json()
    if active is not None and active.session.workspace.key == session.workspace.key:
        return _register(active, name, digest, meta.flavor, signature, metrics, tags)
    from tether.tracking.api import run

    with run(EXPERIMENT, name=f"log {name}", workspace=session.workspace, parent=None) as made:
        return _register(made, name, digest, meta.flavor, signature, metrics, tags)


def _store_tree(
    objects: Any,
    model: Any,
    sample: Any,
    flavor: str | None,
    options: Mapping[str, Any] | None,
) -> tuple[str, int, Any]:
    """Save into a temporary folder, store it as a tree: (digest, size, ModelMeta)."""
    from tether.models.save import save_model

    tmp = Path(tempfile.mkdtemp(prefix="tether-model-"))
    try:
        meta = save_model(model, tmp / "model", flavor=flavor, sample=sample, options=options)
        tree = objects.put_tree(tmp / "model")
        return str(tree.digest), int(tree.size), meta
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _register(
    run: Any,
    name: str,
    digest: str,
    flavor: str,
    signature: dict[str, Any] | None,
    metrics: Mapping[str, Any] | None,
    tags: Mapping[str, Any] | None,
) -> ModelVersion:
    store = run.session.store
    if metrics:
        run.log_metrics(metrics)
    if tags:
        run.set_tags(tags)
    version = store.create_model_version(
        run.session.project,
        name,
        artifact_digest=digest,
        flavor=flavor,
        signature=signature,
        run_id=run.id,
    )
    store.add_run_io(run.id, "output", "model_version", f"{name}@{version.version}", name=name)
    return version


def _log_in_step(
    recorder: Any,
    model: Any,
    name: str,
    sample: Any,
    flavor: str | None,
    metrics: Mapping[str, Any] | None,
    tags: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
    workspace: Workspace | str | os.PathLike[str] | None,
) -> ModelVersion:
    """Store the tree and reserve the number now; the step's recorder hands the version to
    the caller to create under that number."""
    from tether.models.fetch import workspace_of
    from tether.store import ModelVersion

    objects = recorder._objects
    if objects is None:
        from tether.errors import InvalidInput

        raise InvalidInput("this step cannot log a model: it has no object store")
    digest, size, meta = _store_tree(objects, model, sample, flavor, options)
    signature = None if meta.signature is None else meta.signature.to_json()
    if metrics:
        recorder.log_metrics(metrics)
    if tags:
        recorder.set_tags(tags)
    ws = workspace_of(workspace)
    number = ws.store.reserve_model_version(ws.project, name)
    recorder.log_model(name, digest, size, meta.flavor, signature, number)
    return ModelVersion(
        project=ws.project,
        model=name,
        version=number,
        artifact_digest=digest,
        flavor=meta.flavor,
        signature=signature,
        run_id=recorder.id or None,
        created_at=datetime.now(UTC),
    )
