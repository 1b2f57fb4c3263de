"""Running the loop's pipeline on the latest data and finding the model version it made.

The rule: the pipeline either returns a ``ModelVersion`` (what ``tether.models.log`` returns),
or a step logs the model with ``tether.models.log(model, name=MODEL)``; the loop takes the
newest version of its model made by the pipeline run or one of its step runs. The pipeline
runs with ``no_cache``: a trigger asks for a model trained now (a cached step logs nothing).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from tether.automation.errors import TrainingFailed
from tether.automation.policy import LoopPolicy

if TYPE_CHECKING:
    from tether.store import ModelVersion
    from tether.workspace import Workspace


def load_pipeline(policy: LoopPolicy, workspace: Workspace) -> Any:
    from tether.pipelines import Pipeline

    module_name, _, attr = policy.pipeline.partition(":")
    root = str(workspace.root)
    if root not in sys.path:
        sys.path.insert(0, root)  # the project's own modules, as from its root folder
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # the user's module: any error it raises on import
        raise TrainingFailed(
            f"loop {policy.name!r}: cannot import {module_name!r} (pipeline = "
            f"{policy.pipeline!r}): {type(e).__name__}: {e}"
        ) from None
    found = getattr(module, attr, None)
    if not isinstance(found, Pipeline):
        raise TrainingFailed(
            f"loop {policy.name!r}: {policy.pipeline!r} is not a function decorated with "
            "@tether.pipeline"
        )
    return found


def train(policy: LoopPolicy, workspace: Workspace) -> tuple[str, ModelVersion]:
    """Run the pipeline with its data param bound to ``DATASET@latest``: ``(pipeline run id,
    the model version it made)``."""
    from tether.data.dataset_ref import dataset_ref
    from tether.store import ModelVersion

    pipeline = load_pipeline(policy, workspace)
    data = dataset_ref(f"{policy.dataset}@latest")
    try:
        run = pipeline(
            **{policy.data_param: data},
            executor=policy.executor,
            no_cache=True,  # a trigger asks for a new model: cached steps would log none
            workspace=workspace,
            raise_on_failure=False,
        )
    except Exception as e:  # the user's pipeline: anything it raises is a failed training run
        raise TrainingFailed(f"loop {policy.name!r}: {type(e).__name__}: {e}") from None
    if run.status != "finished":
        failed = ", ".join(run.failed) or run.status
        raise TrainingFailed(
            f"loop {policy.name!r}: pipeline run {run.id} {run.status} (steps: {failed})"
        )
    try:
        returned = run.output()
    except Exception:  # what the pipeline returned may not load here; the rule below applies
        returned = None
    if isinstance(returned, ModelVersion) and returned.model == policy.model:
        return run.id, returned
    run_ids = {run.id, *(s.run_id for s in run.steps.values() if s.run_id)}
    made = [
        v
        for v in workspace.store.list_model_versions(workspace.project, policy.model)
        if v.run_id in run_ids
    ]
    if not made:
        raise TrainingFailed(
            f"loop {policy.name!r}: pipeline run {run.id} logged no version of model "
            f"{policy.model!r}; return tether.models.log(...) or call it in a step with "
            f"name={policy.model!r}"
        )
    return run.id, max(made, key=lambda v: v.version)
