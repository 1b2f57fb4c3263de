"""``@step``: a plain function that, called inside a pipeline, becomes a node of its graph."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tether.pipelines.errors import InvalidPipeline
from tether.pipelines.graph import Node, OutputRef, Outputs, current_graph
from tether.pipelines.task import FunctionRef

SINGLE = "output"


@dataclass(frozen=True)
class StepOptions:
    name: str
    cache: bool = True
    retries: int = 0
    timeout: float | None = None
    resources: Mapping[str, Any] | None = None


def _validate(opts: StepOptions) -> None:
    if opts.retries < 0:
        raise InvalidPipeline(f"step {opts.name!r}: retries must be 0 or more, not {opts.retries}")
    if opts.timeout is not None and opts.timeout <= 0:
        raise InvalidPipeline(f"step {opts.name!r}: timeout must be positive seconds")
    for key in opts.resources or {}:
        if key not in ("cpus", "gpus", "memory"):
            raise InvalidPipeline(
                f"step {opts.name!r}: unknown resource {key!r}; use cpus, gpus or memory"
            )


def _infer_outputs(fn: Callable[..., Any]) -> str | tuple[str, ...]:
    """``-> tuple[A, B]`` declares two outputs, ``output_0`` and ``output_1``; else one."""
    try:
        ret = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable annotations: fall back to one output
        return SINGLE
    if typing.get_origin(ret) is tuple:
        args = typing.get_args(ret)
        if args and Ellipsis not in args:
            return tuple(f"output_{i}" for i in range(len(args)))
    return SINGLE


class Step:
    """A step definition; call it inside a ``@pipeline`` to add it to the graph.

    Called outside a pipeline it is the plain function, so steps stay unit-testable.
    """

    kind = "python"

    def __init__(
        self,
        fn: Callable[..., Any],
        options: StepOptions,
        outputs: str | tuple[str, ...],
    ) -> None:
        self.fn = fn
        self.options = options
        self.output_spec = outputs
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)
        _validate(options)

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.output_spec if isinstance(self.output_spec, tuple) else (self.output_spec,)

    def __repr__(self) -> str:
        return f"<step {self.name}>"

    def with_options(self, **changes: Any) -> Step:
        """A copy with other options (``name``, ``cache``, ``retries``, ``timeout``, ...)."""
        return Step(self.fn, replace(self.options, **changes), self.output_spec)

    def function_ref(self) -> FunctionRef:
        module = getattr(self.fn, "__module__", None) or "__main__"
        try:
            file = inspect.getsourcefile(self.fn)
        except TypeError:
            file = None
        return FunctionRef(module, self.fn.__qualname__, file)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = current_graph()
        if graph is None:
            return self.fn(*args, **kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise InvalidPipeline(f"step {self.name!r}: {e}") from None
        bound.apply_defaults()
        node = Node(graph.unique_name(self.name), self, {}, {}, self.outputs)
        for arg, value in bound.arguments.items():
            kind = self.signature.parameters[arg].kind
            if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise InvalidPipeline(
                    f"step {self.name!r}: *args and **kwargs are not supported; name each input"
                )
            graph.classify(self.name, arg, value, node)
        return graph.add(node)


def step(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    timeout: float | None = None,
    resources: Mapping[str, Any] | None = None,
    outputs: str | tuple[str, ...] | list[str] | None = None,
) -> Any:
    """Make ``fn`` a pipeline step. Use as ``@step`` or ``@step(retries=2, timeout=60)``.

    ``outputs`` names the outputs: a string for one, a tuple for several (the function returns
    a tuple in that order or a dict with those keys). Without it, ``-> tuple[A, B]`` gives
    ``output_0`` and ``output_1`` and anything else one output named ``output``.
    """

    def wrap(f: Callable[..., Any]) -> Step:
        spec: str | tuple[str, ...]
        if outputs is None:
            spec = _infer_outputs(f)
        elif isinstance(outputs, str):
            spec = outputs
        else:
            spec = tuple(outputs)
            if not spec or len(set(spec)) != len(spec):
                raise InvalidPipeline(f"step {f.__name__!r}: outputs must be distinct names")
        opts = StepOptions(
            name or f.__name__,
            cache=cache,
            retries=retries,
            timeout=timeout,
            resources=dict(resources) if resources else None,
        )
        return Step(f, opts, spec)

    return wrap(fn) if fn is not None else wrap


__all__ = ["OutputRef", "Outputs", "Step", "StepOptions", "step"]
