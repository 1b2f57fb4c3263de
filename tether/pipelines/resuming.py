"""Resuming a failed pipeline run: run it again with the same params, reusing what finished.

Steps that finished in the old run are reused when their cache key is unchanged (even with
``cache=False`` or a ``no_cache`` run); failed steps, and everything downstream of them, run.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tether.pipelines.errors import NotImportable
from tether.pipelines.executors.base import Executor
from tether.pipelines.params import decode_params
from tether.pipelines.result import PipelineRun, load_pipeline_run

if TYPE_CHECKING:
    from tether.workspace import Workspace


def get_pipeline_run(
    run_id: str, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> PipelineRun:
    from tether.tracking.session import open_session

    session = open_session(workspace)
    return load_pipeline_run(session, run_id)


def resume(
    run_id: str,
    *,
    executor: str | Executor | None = None,
    max_workers: int | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
    on_step: Any = None,
    raise_on_failure: bool = True,
) -> PipelineRun:
    """Re-run only what failed in pipeline run ``run_id`` and what depends on it; a run that
    fails again raises ``PipelineFailed`` unless ``raise_on_failure`` is False."""
    from tether.pipelines.execute import reuse_from
    from tether.pipelines.loader import resolve
    from tether.pipelines.pipeline_def import Pipeline
    from tether.pipelines.task import FunctionRef

    old = get_pipeline_run(run_id, workspace=workspace)
    fn = old.spec.get("function") or {}
    ref = FunctionRef(fn.get("module", ""), fn.get("qualname", ""), fn.get("file"))
    pipe = resolve(ref)
    if not isinstance(pipe, Pipeline):
        raise NotImportable(f"{ref} is no longer a @pipeline function")
    return pipe.run(
        decode_params(old.spec.get("params") or {}),
        executor=executor or old.spec.get("executor"),
        max_workers=max_workers,
        no_cache=bool(old.spec.get("no_cache")),
        workspace=workspace,
        on_step=on_step,
        resumes=old.id,
        reuse=reuse_from(old),
        raise_on_failure=raise_on_failure,
    )
