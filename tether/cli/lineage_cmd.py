from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from tether.cli.context import get

if TYPE_CHECKING:
    from rich.tree import Tree

    from tether.tracking.lineage import Lineage, Node

DEFAULT_DEPTH = 3


def lineage(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        help="Run id (or its first or last characters), object digest, NAME@N (a dataset "
        "version), model:NAME@N, NAME@ALIAS (a model alias: NAME@champion).",
    ),
    depth: int = typer.Option(
        DEFAULT_DEPTH, "--depth", min=0, help="At most this many hops each way; 0: no limit."
    ),
    as_json: bool = typer.Option(False, "--json", help="Nodes and edges as JSON."),
    as_dot: bool = typer.Option(False, "--dot", help="Graphviz DOT (pipe into `dot -Tsvg`)."),
) -> None:
    """Print what TARGET came from (upstream) and what used it (downstream).

    Something reached by two paths is printed in full once, then named with "(see above)".
    For a pipeline run, its steps are listed with the data each one read.
    """
    from tether.tracking.lineage import resolve_node, trace

    session = get(ctx).session()
    graph = trace(session, resolve_node(session, target), depth=depth or None)
    if as_json:
        typer.echo(json.dumps(graph.to_dict(), indent=2))
        return
    if as_dot:
        typer.echo(graph.to_dot())
        return
    from tether.cli.output import console

    console().print(render(graph, depth))


def render(graph: Lineage, depth: int) -> Tree:
    """The lineage as a tree for people: upstream, downstream, then a pipeline's steps."""
    from rich.tree import Tree

    from tether.cli.output import styled

    shown: set[tuple[bool, Node]] = set()  # expanded once per direction; later: "(see above)"

    def label(node: Node, name: str = "") -> str:
        return graph.labels.get(node, str(node)) + (f"  as {name}" if name else "")

    def grow(tree: Tree, node: Node, upstream: bool, path: frozenset[Node]) -> None:
        links = graph.parents(node) if upstream else graph.children(node)
        for other, name in links:
            if other in path:
                tree.add(styled(label(other, name), ("  (cycle)", "dim")))
            elif (upstream, other) in shown:
                tree.add(styled(label(other, name), ("  (see above)", "dim")))
            else:
                shown.add((upstream, other))
                grow(tree.add(label(other, name)), other, upstream, path | {other})

    root = Tree(styled((label(graph.root), "bold")))
    up = root.add(styled(("upstream", "cyan"), " (what it came from)"))
    grow(up, graph.root, True, frozenset({graph.root}))
    down = root.add(styled(("downstream", "magenta"), " (what used it)"))
    grow(down, graph.root, False, frozenset({graph.root}))
    steps = graph.steps.get(graph.root, [])
    if steps:
        branch = root.add(styled(("steps", "green"), f" ({len(steps)}, with what each read)"))
        for step in steps:
            node = branch.add(label(step))
            for other, name in graph.parents(step):
                node.add(label(other, name))
    if graph.truncated:
        root.add(styled((f"more beyond {depth} hops; --depth N or --depth 0 shows them", "dim")))
    return root
