"""The DAG a pipeline function builds: nodes (step calls), their inputs and outputs.

While a ``@pipeline`` function runs, a :class:`Builder` is current (a context variable); each
step call adds a :class:`Node` and returns lazy :class:`OutputRef` handles. Arguments that are
handles become edges; JSON-able literals become params; any other literal (a ``Path``, an array)
becomes a constant input, stored before the run so that its content is part of the cache key.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tether.data.dataset_ref import DatasetRef
from tether.pipelines.errors import InvalidPipeline
from tether.pipelines.materializers import _json_able

_ids = itertools.count(1)


@dataclass(frozen=True)
class OutputRef:
    """A lazy handle on one output of one step call; pass it to other steps."""

    node: str
    output: str
    graph: int = field(repr=False, compare=True)

    def __iter__(self) -> Iterator[Any]:
        raise InvalidPipeline(
            f"output {self.output!r} of step {self.node!r} is one value and cannot be unpacked; "
            "declare several outputs with @step(outputs=('a', 'b'))"
        )

    def __bool__(self) -> bool:
        raise InvalidPipeline(
            f"output of step {self.node!r} is not known while the graph is built; "
            "branch inside a step instead of in the pipeline function"
        )


class Outputs(tuple[OutputRef, ...]):
    """The handles of a step with several outputs: unpack them or index by position or name."""

    names: tuple[str, ...]

    def __new__(cls, refs: tuple[OutputRef, ...]) -> Outputs:
        self = super().__new__(cls, refs)
        self.names = tuple(r.output for r in refs)
        return self

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self.names.index(key))
            except ValueError:
                raise KeyError(f"no output named {key!r}; outputs are {list(self.names)}") from None
        return tuple.__getitem__(self, key)


@dataclass(frozen=True)
class Const:
    """A literal argument that is not JSON-able: stored as an object before the run."""

    value: Any


Input = OutputRef | Const


@dataclass
class Node:
    name: str
    definition: Any  # a Step or a ShellStep
    params: dict[str, Any]
    inputs: dict[str, Input]  # input name -> where it comes from
    outputs: tuple[str, ...]
    packs: dict[str, int] = field(default_factory=dict)  # list argument -> how many inputs

    @property
    def deps(self) -> set[str]:
        return {i.node for i in self.inputs.values() if isinstance(i, OutputRef)}


class Graph:
    def __init__(self) -> None:
        self.id = next(_ids)
        self.nodes: dict[str, Node] = {}

    def unique_name(self, base: str) -> str:
        if base not in self.nodes:
            return base
        for i in itertools.count(2):
            name = f"{base}_{i}"
            if name not in self.nodes:
                return name
        raise AssertionError("unreachable")

    def add(self, node: Node) -> Outputs | OutputRef:
        self.nodes[node.name] = node
        refs = tuple(OutputRef(node.name, o, self.id) for o in node.outputs)
        if len(refs) == 1 and not isinstance(node.definition.output_spec, tuple):
            return refs[0]
        return Outputs(refs)

    def classify(self, step_name: str, arg: str, value: Any, node: Node) -> None:
        """File ``value`` under the node's params or inputs."""
        if isinstance(value, Outputs):
            raise InvalidPipeline(
                f"argument {arg!r} of step {step_name!r} got all outputs of step "
                f"{value[0].node!r} at once; pass one of them ({', '.join(value.names)})"
            )
        if isinstance(value, OutputRef):
            self._check_ref(value, step_name, arg)
            node.inputs[arg] = value
        elif (
            isinstance(value, list | tuple)
            and value
            and all(isinstance(v, OutputRef) for v in value)
        ):
            for i, v in enumerate(value):
                self._check_ref(v, step_name, arg)
                node.inputs[f"{arg}.{i}"] = v
            node.packs[arg] = len(value)
        elif _json_able(value) or _dataset_refs_only(value):
            node.params[arg] = value
        else:
            node.inputs[arg] = Const(value)

    def _check_ref(self, ref: OutputRef, step_name: str, arg: str) -> None:
        if ref.graph != self.id or ref.node not in self.nodes:
            raise InvalidPipeline(
                f"argument {arg!r} of step {step_name!r} is an output of another pipeline run"
            )

    def order(self) -> list[str]:
        """Nodes in a topological order (calls always follow their inputs' calls)."""
        return list(self.nodes)

    def dependents(self, name: str) -> set[str]:
        """Every node downstream of ``name``."""
        out: set[str] = set()
        frontier = [name]
        while frontier:
            cur = frontier.pop()
            for n in self.nodes.values():
                if cur in n.deps and n.name not in out:
                    out.add(n.name)
                    frontier.append(n.name)
        return out


def _dataset_refs_only(value: Any, depth: int = 0) -> bool:
    """A dataset reference (or JSON holding some): a param, resolved when the run starts."""
    if isinstance(value, DatasetRef):
        return True
    if depth > 64:
        return False
    if isinstance(value, list | tuple):
        return all(_json_able(v) or _dataset_refs_only(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and (_json_able(v) or _dataset_refs_only(v, depth + 1))
            for k, v in value.items()
        )
    return False


_current: contextvars.ContextVar[Graph | None] = contextvars.ContextVar(
    "tether_pipeline_graph", default=None
)


def current_graph() -> Graph | None:
    return _current.get()


class building:
    """``with building(graph):`` makes step calls add nodes to ``graph``."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._token: contextvars.Token[Graph | None] | None = None

    def __enter__(self) -> Graph:
        self._token = _current.set(self.graph)
        return self.graph

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _current.reset(self._token)
