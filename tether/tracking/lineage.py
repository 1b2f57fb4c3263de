"""Lineage: what a run, object, dataset version or model version came from and what used it.

Edges point from producer to consumer: an input ``X`` of run ``R`` gives ``X -> R``, an output
``Y`` gives ``R -> Y``. A dataset or model version also links to the run recorded as its maker.
A run with child runs (a pipeline run and its steps) lists them in ``steps``, and the graph
holds each step's inputs, so that what a pipeline read shows under it.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.errors import NotFound
from tether.store.errors import DatasetNotFound, ModelNotFound
from tether.store.ids import short_id

if TYPE_CHECKING:
    from tether.tracking.session import Session

DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, order=True)
class Node:
    kind: str  # run | object | dataset_version | model_version
    ref: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass
class Lineage:
    root: Node
    labels: dict[Node, str] = field(default_factory=dict)
    edges: set[tuple[Node, Node, str]] = field(default_factory=set)  # (from, to, name)
    steps: dict[Node, list[Node]] = field(default_factory=dict)  # run -> its child runs
    truncated: bool = False  # the depth limit left nodes out

    def parents(self, node: Node) -> list[tuple[Node, str]]:
        return sorted((a, n) for a, b, n in self.edges if b == node)

    def children(self, node: Node) -> list[tuple[Node, str]]:
        return sorted((b, n) for a, b, n in self.edges if a == node)

    def nodes(self) -> set[Node]:
        found = {self.root} | {a for a, _, _ in self.edges} | {b for _, b, _ in self.edges}
        return found | {c for children in self.steps.values() for c in children}

    def to_dict(self) -> dict[str, Any]:
        nodes = self.nodes()
        return {
            "root": str(self.root),
            "nodes": [
                {"id": str(n), "kind": n.kind, "ref": n.ref, "label": self.labels.get(n)}
                for n in sorted(nodes)
            ],
            "edges": [
                {"from": str(a), "to": str(b), "name": name} for a, b, name in sorted(self.edges)
            ],
            "steps": {str(p): [str(c) for c in cs] for p, cs in sorted(self.steps.items())},
            "truncated": self.truncated,
        }

    def to_dot(self) -> str:
        shapes = {
            "run": "box",
            "object": "note",
            "dataset_version": "cylinder",
            "model_version": "component",
        }
        nodes = self.nodes()
        lines = ["digraph lineage {", "  rankdir=LR;"]
        for n in sorted(nodes):
            label = (self.labels.get(n) or str(n)).replace('"', '\\"')
            extra = ", style=bold" if n == self.root else ""
            lines.append(f'  "{n}" [label="{label}", shape={shapes[n.kind]}{extra}];')
        for a, b, name in sorted(self.edges):
            attr = f' [label="{name}"]' if name else ""
            lines.append(f'  "{a}" -> "{b}"{attr};')
        for parent, children in sorted(self.steps.items()):
            for child in children:
                lines.append(f'  "{parent}" -> "{child}" [style=dashed, label="step"];')
        lines.append("}")
        return "\n".join(lines)


def resolve_node(session: Session, target: str) -> Node:
    """A run id (or its first or last characters), an object digest, ``dataset@N``,
    ``model:NAME@N`` (``dataset:NAME@N`` where a model has the same name) or ``NAME@ALIAS``
    (the model version the alias points at)."""
    store = session.store
    if DIGEST.fullmatch(target):
        store.get_object_record(target)
        return Node("object", target)
    kind = None
    if target.startswith(("dataset:", "model:")):
        kind, _, target = target.partition(":")
    if "@" in target:
        name, _, version = target.rpartition("@")
        if version.isdigit():
            return _version_node(session, kind, name, int(version))
        if kind in (None, "model") and version:  # name@champion: the version it points at
            found = store.get_alias(session.project, name, version)
            return Node("model_version", f"{name}@{found.version}")
    return Node("run", store.resolve_run_id(target))


def _version_node(session: Session, kind: str | None, name: str, version: int) -> Node:
    """The dataset or model version; an error names the kind of thing that exists."""
    store, project = session.store, session.project
    no_dataset: NotFound | None = None
    if kind in (None, "dataset"):
        try:
            store.get_dataset_version(project, name, version)
            return Node("dataset_version", f"{name}@{version}")
        except DatasetNotFound as e:  # no such dataset: maybe a model
            if kind == "dataset":
                raise
            no_dataset = e
    try:
        store.get_model_version(project, name, version)
    except ModelNotFound:
        if no_dataset is not None:
            raise NotFound(
                f"no dataset or model named {name!r} in project {project!r}; "
                "`tether data ls` lists the datasets"
            ) from None
        raise
    return Node("model_version", f"{name}@{version}")


def trace(session: Session, root: Node, *, depth: int | None = None) -> Lineage:
    """Walk upstream and downstream of ``root`` breadth-first, ``depth`` hops at most.

    A run root with child runs (a pipeline run) also gets its steps and each step's inputs.
    """
    result = Lineage(root)
    for upstream in (True, False):
        seen = {root}
        queue = deque([(root, 0)])
        while queue:
            node, hops = queue.popleft()
            edges = _edges(session, node, upstream)
            if depth is not None and hops >= depth:
                result.truncated = result.truncated or any(
                    (a if upstream else b) not in seen for a, b, _ in edges
                )
                continue
            for a, b, name in edges:
                result.edges.add((a, b, name))
                other = a if upstream else b
                if other not in seen:
                    seen.add(other)
                    queue.append((other, hops + 1))
    if root.kind == "run":
        _steps(session, result)
    _label(session, result)
    return result


def _steps(session: Session, lineage: Lineage) -> None:
    from tether.store.filter import Compare, Field, parse_order_by

    children = session.store.search_runs(
        session.project,
        Compare(Field("attributes", "parent_id"), "=", lineage.root.ref),
        parse_order_by("start_time"),
        include_deleted=True,
    )
    if not children:
        return
    lineage.steps[lineage.root] = [Node("run", c.id) for c in children]
    for step in lineage.steps[lineage.root]:
        lineage.edges.update(_edges(session, step, True))


def _edges(session: Session, node: Node, upstream: bool) -> list[tuple[Node, Node, str]]:
    store = session.store
    edges: list[tuple[Node, Node, str]] = []
    if node.kind == "run":
        direction = "input" if upstream else "output"
        for io in store.list_run_io(node.ref, direction):
            other = Node(io.kind, io.ref)
            edges.append((other, node, io.name or "") if upstream else (node, other, io.name or ""))
        return edges
    direction = "output" if upstream else "input"
    for io in store.find_run_io(node.kind, node.ref, direction):
        run = Node("run", io.run_id)
        edges.append((run, node, io.name or "") if upstream else (node, run, io.name or ""))
    if upstream and node.kind in ("dataset_version", "model_version"):
        maker = _maker(session, node)
        if maker is not None and not any(a.ref == maker for a, _, _ in edges):
            edges.append((Node("run", maker), node, ""))
    return edges


def _maker(session: Session, node: Node) -> str | None:
    name, _, version = node.ref.rpartition("@")
    try:
        if node.kind == "dataset_version":
            return session.store.get_dataset_version(session.project, name, int(version)).run_id
        return session.store.get_model_version(session.project, name, int(version)).run_id
    except NotFound:
        return None


def _label(session: Session, lineage: Lineage) -> None:
    for node in lineage.nodes():
        if node.kind == "run":
            try:
                run = session.store.get_run(node.ref)
            except NotFound:
                lineage.labels[node] = f"run {short_id(node.ref)} (gone)"
                continue
            deleted = ", deleted" if run.deleted_at is not None else ""
            lineage.labels[node] = f"run {short_id(run.id)} {run.name or ''}".rstrip() + (
                f" ({run.status}{deleted})" + _code_label(run.info)
            )
        elif node.kind == "object":
            lineage.labels[node] = f"object {node.ref[:16]}"
        elif node.kind == "dataset_version":
            lineage.labels[node] = f"dataset {node.ref}"
        else:
            lineage.labels[node] = f"model {node.ref}"


def _code_label(info: dict[str, Any]) -> str:
    """`` code 1a2b3c4d`` (`` + uncommitted changes`` when the tree was dirty), or nothing."""
    code = info.get("code")
    if not isinstance(code, dict) or not code.get("commit"):
        return ""
    return f" code {str(code['commit'])[:8]}" + (
        " + uncommitted changes" if code.get("dirty") else ""
    )
