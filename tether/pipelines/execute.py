"""One pipeline run from start to end: the tracked parent run, the runner, the result."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tether.pipelines.record as record
from tether.pipelines.cache import CacheHit, StepCache
from tether.pipelines.datasets import Resolver, input_rows, plain
from tether.pipelines.errors import InvalidPipeline, NotImportable
from tether.pipelines.executors import make_executor
from tether.pipelines.executors.base import Executor
from tether.pipelines.graph import Const, Graph, OutputRef, Outputs
from tether.pipelines.params import encode_params
from tether.pipelines.result import PipelineRun, StepRun, cache_dir
from tether.pipelines.runner import RunContext, Runner, StepState
from tether.pipelines.task import ObjectsSpec
from tether.pipelines.values import store_value

if TYPE_CHECKING:
    from tether.pipelines.pipeline_def import Pipeline
    from tether.workspace import Workspace


def _objects_spec(session: Any) -> ObjectsSpec:
    objects = session.objects
    return ObjectsSpec(
        objects.url, dict(objects.storage_options), bool(objects.fsync), objects.workers
    )


def _environment() -> str:
    from tether.tracking.capture import capture_environment

    env = capture_environment()
    return f"{platform.python_version()}|{sys.implementation.name}|{env.packages_digest}"


def execute(
    pipe: Pipeline,
    graph: Graph,
    returned: Any,
    params: dict[str, Any],
    *,
    executor: str | Executor | None,
    max_workers: int | None,
    no_cache: bool,
    workspace: Workspace | str | os.PathLike[str] | None,
    on_step: Any,
    resumes: str | None,
    reuse: dict[str, Any],
) -> PipelineRun:
    from tether.store import ObjectRecord
    from tether.tracking.api import run as tracked_run
    from tether.tracking.session import open_session

    session = open_session(workspace)  # WorkspaceNotFound outside a workspace
    ws = session.workspace
    returns = returns_spec(returned)
    resolver = Resolver(session)
    params = {k: resolver.resolve(v) for k, v in params.items()}
    for node in graph.nodes.values():
        node.params = {k: resolver.resolve(v) for k, v in node.params.items()}
    stored_params = encode_params(params)
    ex = make_executor(executor, max_workers)
    if ex.needs_import:
        check_importable(graph)
    tags = {record.PIPELINE_TAG: pipe.name}
    if resumes:
        tags["tether.pipeline.resumes"] = resumes
    scratch = Path(ws.dir) / "tmp" / "pipelines"
    with tracked_run(
        pipe.experiment or pipe.name,
        pipe.name,
        {k: plain(v) for k, v in params.items()},
        tags,
        workspace=ws,
    ) as parent:
        record.add_io(session, parent.id, input_rows(params))
        consts: dict[int, str] = {}
        records = []
        for node in graph.nodes.values():
            for arg, src in node.inputs.items():
                if isinstance(src, Const) and id(src) not in consts:
                    stored = store_value(
                        session.objects, src.value, f"argument {arg!r} of {node.name!r}", scratch
                    )
                    consts[id(src)] = stored.digest
                    records.append(ObjectRecord(stored.digest, stored.size, "tree"))
        spec = {
            "name": pipe.name,
            "function": vars(pipe.function_ref()),
            "params": stored_params,
            "executor": ex.name,
            "no_cache": no_cache,
            "steps": graph_spec(graph, consts),
            "returns": returns,
        }
        record.record_pipeline(session, parent.id, records, spec)
        ctx = RunContext(
            session=session,
            parent_id=parent.id,
            experiment=pipe.experiment or pipe.name,
            cwd=Path(os.getcwd()),
            roots=(str(ws.root), os.getcwd()),
            cache=StepCache(session, Path(ws.dir) / "cache" / "pipelines" / "keys"),
            cache_dir=cache_dir(session),
            scratch_dir=scratch,
            objects=_objects_spec(session),
            environment=_environment(),
            no_cache=no_cache,
            reuse={k: v[1] for k, v in reuse.items()},
            reuse_keys={k: v[0] for k, v in reuse.items()},
            consts=consts,
            resolver=resolver,
            on_step=on_step,
        )
        with ex:
            states = Runner(graph, ctx, ex).run()
        _record_returns(session, parent.id, returns, states)
        returned_metrics = _returned_metrics(returns, states)
        if returned_metrics:
            parent.log_metrics(returned_metrics, step=0)
        failed = [n for n, s in states.items() if s.status == "failed"]
        status = "failed" if failed else "finished"
        if failed:
            lines = [f"steps failed: {', '.join(failed)}"]
            for n in failed:
                lines.append(f"--- {n} ---\n{(states[n].error or '').strip()[-2000:]}")
            parent.end("failed", error="\n".join(lines))
    steps = {n: _step_run(s, session) for n, s in states.items()}
    return PipelineRun(parent.id, pipe.name, status, steps, spec, session)


def _refs(returns: Any) -> list[str]:
    """The ``step.output`` references in what the pipeline function returned, in order."""
    refs: list[str] = []

    def walk(r: Any) -> None:
        if isinstance(r, str):
            refs.append(r)
        elif isinstance(r, list):
            for x in r:
                walk(x)
        elif isinstance(r, dict):
            for x in r.values():
                walk(x)

    walk(returns)
    return refs


def _returned_metrics(returns: Any, states: dict[str, StepState]) -> dict[str, float]:
    """The ``tether.Metrics`` among the pipeline's returned outputs: the pipeline run's metrics
    (when two name the same metric, the later one returned wins)."""
    out: dict[str, float] = {}
    for ref in _refs(returns):
        step, _, output = ref.partition(".")
        logged = states[step].logged
        if logged is not None and output in logged.returned:
            out.update(logged.returned[output])
    return out


def _record_returns(session: Any, run_id: str, returns: Any, states: dict[str, StepState]) -> None:
    rows = []
    for ref in _refs(returns):
        step, _, out = ref.partition(".")
        value = states[step].outputs.get(out)
        if value is not None:
            rows.append(("output", "object", value.digest, ref))
    record.add_io(session, run_id, rows)


def _step_run(s: StepState, session: Any) -> StepRun:
    return StepRun(
        s.name,
        s.status,
        s.run_id,
        s.cached,
        dict(s.inputs),
        dict(s.outputs),
        s.duration_s,
        s.error,
        s.logs.digest if s.logs else None,
        s.attempts,
        session=session,
    )


def reuse_from(run: PipelineRun) -> dict[str, tuple[str, CacheHit]]:
    """The finished steps of ``run`` as (cache key, outputs), for resuming it."""
    out: dict[str, tuple[str, CacheHit]] = {}
    store = run.session.store
    for name, s in run.steps.items():
        if s.status != "finished" or s.run_id is None:
            continue
        stored = store.get_run(s.run_id)
        key = stored.tags.get("tether.step.cache_key")
        if not key:
            continue
        from tether.pipelines.cache import logged_from
        from tether.pipelines.values import StoredValue

        logs = StoredValue(s.logs_digest, 0, 1, "logs") if s.logs_digest else None
        logged = logged_from((stored.info.get("step") or {}).get("logged"))
        out[name] = (key, CacheHit(s.run_id, dict(s.stored), logs, s.duration_s, logged))
    return out


__all__ = ["OutputRef", "execute", "reuse_from"]


def returns_spec(value: Any) -> Any:
    """What the pipeline function returned, as ``"step.output"`` references."""
    if value is None:
        return None
    if isinstance(value, OutputRef):
        return f"{value.node}.{value.output}"
    if isinstance(value, Outputs | tuple | list):
        return [returns_spec(v) for v in value]
    if isinstance(value, dict):
        return {str(k): returns_spec(v) for k, v in value.items()}
    raise InvalidPipeline(
        "a pipeline function may return step outputs (one, a tuple or a dict of them) or None, "
        f"not {type(value).__name__}"
    )


def graph_spec(graph: Graph, consts: dict[int, str]) -> list[dict[str, Any]]:
    from tether.pipelines.datasets import plain

    steps = []
    for node in graph.nodes.values():
        inputs = {
            arg: f"{src.node}.{src.output}"
            if isinstance(src, OutputRef)
            else f"const:{consts[id(src)]}"
            for arg, src in node.inputs.items()
            if isinstance(src, OutputRef | Const)
        }
        steps.append(
            {
                "name": node.name,
                "kind": node.definition.kind,
                "inputs": inputs,
                "outputs": list(node.outputs),
                "params": plain(node.params),
            }
        )
    return steps


def check_importable(graph: Graph) -> None:
    """Fail before the run starts if a worker process could not import a step."""
    for node in graph.nodes.values():
        d = node.definition
        if d.kind != "python":
            continue
        ref = d.function_ref()
        if "<locals>" in ref.qualname:
            raise NotImportable(
                f"step {node.name!r} ({ref.qualname}) is defined inside a function; the "
                "process executor imports steps by module path, so define it at module level "
                "(or run with executor='inline')"
            )
        if ref.file is None and ref.module == "__main__":
            raise NotImportable(
                f"step {node.name!r} is defined in an interactive session; move it into a .py "
                "file or run with executor='inline'"
            )
