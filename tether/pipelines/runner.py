"""Running a built graph: cache lookups, submission in graph order, retries, failure, tracking.

The runner lives in the calling process, which alone writes the metadata store (through
``record.py``). A step starts when all its inputs are finished; a step whose input failed (or
was skipped) is skipped; independent branches carry on. Each step becomes a child run of the
pipeline run.
"""

from __future__ import annotations

import sys
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tether.pipelines.materializers as mats
import tether.pipelines.record as record
from tether.pipelines.cache import CacheHit, StepCache, cache_key
from tether.pipelines.datasets import Resolver, input_rows, still_current
from tether.pipelines.environment import step_environment
from tether.pipelines.executors.base import Executor
from tether.pipelines.graph import Const, Graph, Node, OutputRef
from tether.pipelines.shell import ShellStep
from tether.pipelines.source import step_code
from tether.pipelines.task import ObjectsSpec, StepResult, StepTask
from tether.pipelines.values import StoredValue

if TYPE_CHECKING:
    from tether.tracking.recorder import RunLogs


@dataclass
class StepState:
    name: str
    status: str = "pending"  # pending | running | finished | failed | skipped | killed
    run_id: str | None = None
    cached: bool = False
    key: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, StoredValue] = field(default_factory=dict)
    logs: StoredValue | None = None
    duration_s: float | None = None
    error: str | None = None
    attempts: int = 0
    logged: RunLogs | None = None


@dataclass
class RunContext:
    session: Any
    parent_id: str
    experiment: str
    cwd: Path
    roots: tuple[str, ...]
    cache: StepCache
    cache_dir: Path
    scratch_dir: Path
    objects: ObjectsSpec
    environment: str
    no_cache: bool = False
    reuse: dict[str, CacheHit] = field(default_factory=dict)  # step -> finished run to reuse
    reuse_keys: dict[str, str] = field(default_factory=dict)
    consts: dict[int, str] = field(default_factory=dict)  # id(Const) -> digest
    resolver: Resolver | None = None
    on_step: Any = None  # callback(StepState) when a step ends


class Runner:
    def __init__(self, graph: Graph, ctx: RunContext, executor: Executor) -> None:
        self.graph = graph
        self.ctx = ctx
        self.executor = executor
        self.states = {name: StepState(name) for name in graph.order()}
        self._futures: dict[Future[StepResult], tuple[str, StepTask]] = {}
        self._materializers = mats.versions_digest()
        self._sys_path = tuple(p for p in sys.path if p)

    def run(self) -> dict[str, StepState]:
        try:
            self._loop()
        except BaseException:
            self.executor.shutdown(cancel=True)
            for state in self.states.values():
                if state.status == "running" and state.run_id is not None:
                    state.status = "killed"
                    record.kill_step_run(self.ctx.session, state.run_id)
            raise
        return self.states

    def _loop(self) -> None:
        order = self.graph.order()
        while True:
            progressed = True
            while progressed:
                progressed = False
                for name in order:
                    state = self.states[name]
                    if state.status != "pending":
                        continue
                    deps = [self.states[d].status for d in self.graph.nodes[name].deps]
                    if any(s in ("failed", "skipped", "killed") for s in deps):
                        state.status = "skipped"
                        progressed = True
                    elif all(s == "finished" for s in deps):
                        self._start(self.graph.nodes[name])
                        progressed = True
            if not self._futures:
                return
            done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
            for future in done:
                name, task = self._futures.pop(future)
                self._finish(self.graph.nodes[name], task, future)

    def _input_digests(self, node: Node, *, for_key: bool = False) -> dict[str, str]:
        """Input name -> stored digest; ``for_key``: the canonical digest where there is one,
        so that an equal value with other bytes (a refitted estimator) re-runs nothing."""
        out: dict[str, str] = {}
        for arg, source in node.inputs.items():
            if isinstance(source, OutputRef):
                value = self.states[source.node].outputs[source.output]
                out[arg] = value.cache_digest if for_key else value.digest
            else:
                assert isinstance(source, Const)
                out[arg] = self.ctx.consts[id(source)]
        return out

    def _code(self, node: Node) -> tuple[str, str]:
        """The step's code digest and the environment it is keyed on."""
        d = node.definition
        if isinstance(d, ShellStep):
            return d.code_digest(self.ctx.cwd), self.ctx.environment
        roots = list(self.ctx.roots)
        ref = d.function_ref()
        if ref.file:
            roots.append(str(Path(ref.file).resolve().parent))
        code, modules = step_code(d.fn, roots)
        return code, step_environment(modules)

    def _valid(self, hit: CacheHit | None) -> CacheHit | None:
        """``hit``, unless a dataset its run read by name has a newer version now."""
        if hit is None or hit.logged is None or not hit.logged.datasets:
            return hit
        resolver = self.ctx.resolver or Resolver(self.ctx.session)
        return hit if still_current(resolver, hit.logged.datasets) else None

    def _start(self, node: Node) -> None:
        ctx = self.ctx
        state = self.states[node.name]
        d = node.definition
        state.inputs = self._input_digests(node)
        code, environment = self._code(node)
        state.key = cache_key(
            step=node.name,
            kind=d.kind,
            code=code,
            params=node.params,
            inputs=self._input_digests(node, for_key=True),
            outputs=node.outputs,
            environment=environment,
            materializers=self._materializers,
        )
        hit: CacheHit | None = None
        if node.name in ctx.reuse and ctx.reuse_keys.get(node.name) == state.key:
            hit = self._valid(ctx.reuse[node.name])
        elif d.options.cache and not ctx.no_cache:
            hit = self._valid(ctx.cache.lookup(state.key, node.outputs))
        if hit is not None:
            state.run_id = record.record_cached(
                ctx.session,
                parent_id=ctx.parent_id,
                experiment=ctx.experiment,
                name=node.name,
                params=node.params,
                key=state.key,
                inputs=state.inputs,
                outputs=hit.outputs,
                logs=hit.logs,
                source_run=hit.run_id,
                logged=hit.logged,
                extra_io=input_rows(node.params),
            )
            state.status, state.cached = "finished", True
            state.logged = hit.logged
            state.outputs, state.logs, state.duration_s = hit.outputs, hit.logs, 0.0
            self._notify(state)
            return
        state.run_id = record.start_step_run(
            ctx.session,
            parent_id=ctx.parent_id,
            experiment=ctx.experiment,
            name=node.name,
            params=node.params,
            key=state.key,
            cached=False,
            info={"inputs": state.inputs},
        )
        state.status = "running"
        self._submit(node, self._task(node, state))

    def _task(self, node: Node, state: StepState) -> StepTask:
        d = node.definition
        shell = isinstance(d, ShellStep)
        return StepTask(
            step=node.name,
            kind=d.kind,
            target=None if shell else d.function_ref(),
            shell=d.spec() if shell else None,
            params=dict(node.params),
            inputs=dict(state.inputs),
            packs=dict(node.packs),
            outputs=node.outputs,
            multi_output=isinstance(d.output_spec, tuple),
            objects=self.ctx.objects,
            cache_dir=str(self.ctx.cache_dir),
            scratch_dir=str(self.ctx.scratch_dir),
            cwd=str(self.ctx.cwd),
            sys_path=self._sys_path,
            timeout=d.options.timeout,
            resources=dict(d.options.resources or {}),
            trusted=tuple(mats.trusted_types()),
            run_id=state.run_id,
            fn=None if shell else d.fn,
        )

    def _submit(self, node: Node, task: StepTask) -> None:
        state = self.states[node.name]
        state.attempts += 1
        task.attempt = state.attempts
        self._futures[self.executor.submit(task)] = (node.name, task)

    def _finish(self, node: Node, task: StepTask, future: Future[StepResult]) -> None:
        state = self.states[node.name]
        try:
            result = future.result()
        except Exception as e:  # a broken executor: fail this step, keep the rest going
            result = StepResult(False, {}, None, 0.0, f"executor error: {e!r}")
        if not result.ok and state.attempts <= node.definition.options.retries:
            self._submit(node, task)
            return
        state.duration_s = result.duration_s
        state.logs = result.logs
        state.logged = result.logged
        assert state.run_id is not None
        if result.ok:
            state.status, state.outputs = "finished", dict(result.outputs)
        else:
            state.status, state.error = "failed", result.error or "failed"
        record.finish_step(
            self.ctx.session,
            state.run_id,
            inputs=state.inputs,
            outputs=state.outputs,
            logs=state.logs,
            duration_s=result.duration_s,
            attempts=state.attempts,
            error=state.error,
            logged=result.logged,
            extra_io=input_rows(node.params),
        )
        if result.ok and state.key is not None:
            self.ctx.cache.remember(
                state.key,
                CacheHit(state.run_id, state.outputs, state.logs, result.duration_s, result.logged),
            )
        self._notify(state)

    def _notify(self, state: StepState) -> None:
        if self.ctx.on_step is not None:
            self.ctx.on_step(state)
