"""``@pipeline``: a function whose step calls build a graph; calling it runs the graph."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tether.data.dataset_ref import DatasetRef
from tether.pipelines.errors import InvalidPipeline
from tether.pipelines.executors.base import Executor
from tether.pipelines.graph import Graph, building
from tether.pipelines.result import PipelineRun
from tether.pipelines.task import FunctionRef
from tether.store.validate import entity_name

if TYPE_CHECKING:
    from tether.workspace import Workspace

RESERVED = ("executor", "max_workers", "no_cache", "workspace", "raise_on_failure")


class Pipeline:
    """Call it with the pipeline's params to run it; returns a :class:`PipelineRun`.

    Keyword-only run options: ``executor`` (``"processes"`` (default), ``"inline"``, ``"ray"``
    or an ``Executor``), ``max_workers``, ``no_cache``, ``workspace`` and
    ``raise_on_failure``: a run that does not finish raises :class:`PipelineFailed`, whose
    ``result`` is the :class:`PipelineRun` with what did finish, unless it is False (then the
    failed run is returned).
    """

    def __init__(self, fn: Callable[..., Any], name: str, experiment: str | None) -> None:
        self.fn = fn
        self.name = name
        self.experiment = experiment
        self.signature = inspect.signature(fn)
        clash = [p for p in self.signature.parameters if p in RESERVED]
        if clash:
            raise InvalidPipeline(
                f"pipeline {name!r}: parameter names {clash} are reserved for run options; "
                "rename them"
            )
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"

    def function_ref(self) -> FunctionRef:
        try:
            file = inspect.getsourcefile(self.fn)
        except TypeError:
            file = None
        return FunctionRef(self.fn.__module__, self.fn.__qualname__, file)

    def _dataset_params(self) -> list[str]:
        """Params annotated ``DatasetRef``: a string given for one is a dataset reference."""
        import typing

        try:
            hints = typing.get_type_hints(self.fn)
        except Exception:  # unresolvable annotations: no param is known to be a dataset
            return []
        out = []
        for name, hint in hints.items():
            options = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
            if DatasetRef in options and name in self.signature.parameters:
                out.append(name)
        return out

    def build(self, params: Mapping[str, Any]) -> tuple[Graph, Any, dict[str, Any]]:
        """The graph of this pipeline for ``params``, what it returns, and the bound params."""
        try:
            bound = self.signature.bind(**params)
        except TypeError as e:
            raise InvalidPipeline(f"pipeline {self.name!r}: {e}") from None
        bound.apply_defaults()
        for name in self._dataset_params():
            if isinstance(bound.arguments.get(name), str):
                bound.arguments[name] = DatasetRef.parse(bound.arguments[name])
        graph = Graph()
        with building(graph):
            returned = self.fn(*bound.args, **bound.kwargs)
        if not graph.nodes:
            raise InvalidPipeline(f"pipeline {self.name!r} calls no steps")
        return graph, returned, dict(bound.arguments)

    def __call__(
        self,
        *args: Any,
        executor: str | Executor | None = None,
        max_workers: int | None = None,
        no_cache: bool = False,
        workspace: Workspace | str | os.PathLike[str] | None = None,
        raise_on_failure: bool = True,
        **kwargs: Any,
    ) -> PipelineRun:
        if args:
            names = list(self.signature.parameters)
            kwargs.update(dict(zip(names, args, strict=False)))
        return self.run(
            kwargs,
            executor=executor,
            max_workers=max_workers,
            no_cache=no_cache,
            workspace=workspace,
            raise_on_failure=raise_on_failure,
        )

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        executor: str | Executor | None = None,
        max_workers: int | None = None,
        no_cache: bool = False,
        workspace: Workspace | str | os.PathLike[str] | None = None,
        on_step: Callable[[Any], None] | None = None,
        resumes: str | None = None,
        reuse: Mapping[str, Any] | None = None,
        raise_on_failure: bool = True,
    ) -> PipelineRun:
        from tether.pipelines.execute import execute

        graph, returned, bound = self.build(params or {})
        result = execute(
            self,
            graph,
            returned,
            bound,
            executor=executor,
            max_workers=max_workers,
            no_cache=no_cache,
            workspace=workspace,
            on_step=on_step,
            resumes=resumes,
            reuse=dict(reuse or {}),
        )
        return result.check() if raise_on_failure else result


def pipeline(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    experiment: str | None = None,
) -> Any:
    """Make ``fn`` a pipeline. Its runs are tracked in ``experiment`` (default: its name)."""

    def wrap(f: Callable[..., Any]) -> Pipeline:
        entity_name("experiment name", experiment or name or f.__name__)  # fail at definition
        return Pipeline(f, name or f.__name__, experiment)

    return wrap(fn) if fn is not None else wrap
