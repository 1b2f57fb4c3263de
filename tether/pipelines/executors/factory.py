"""Executors by name, for the API's ``executor=`` and the CLI's ``--executor``."""

from __future__ import annotations

import importlib

from tether.pipelines.errors import InvalidPipeline
from tether.pipelines.executors.base import Executor

# name -> "module:Class"; imported on first use, so an executor's extra loads only when used
EXECUTORS: dict[str, str] = {
    "inline": "tether.pipelines.executors.inline:InlineExecutor",
    "processes": "tether.pipelines.executors.processes:ProcessExecutor",
    "ray": "tether.pipelines.executors.ray:RayExecutor",
}


def make_executor(spec: str | Executor | None, max_workers: int | None = None) -> Executor:
    """An executor from a name (``inline``, ``processes``, ``ray``) or the executor itself."""
    if isinstance(spec, Executor):
        return spec
    name = spec or "processes"
    target = EXECUTORS.get(name)
    if target is None:
        raise InvalidPipeline(
            f"unknown executor {name!r}; choose one of {', '.join(sorted(EXECUTORS))}"
        )
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise InvalidPipeline(f"the {name!r} executor is not available yet") from None
        raise
    cls = getattr(module, cls_name)
    if name == "inline":
        executor: Executor = cls()
    else:
        executor = cls(max_workers=max_workers)
    return executor
