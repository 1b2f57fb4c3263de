from __future__ import annotations

import json

import typer

from tether.cli.context import get


def lineage(
    ctx: typer.Context,
    target: str = typer.Argument(
        ..., help="Run id or prefix, object digest, dataset@N, model:NAME@N."
    ),
    depth: int | None = typer.Option(None, "--depth", help="At most this many hops each way."),
    as_json: bool = typer.Option(False, "--json", help="Nodes and edges as JSON."),
    as_dot: bool = typer.Option(False, "--dot", help="Graphviz DOT (pipe into `dot -Tsvg`)."),
) -> None:
    """Print what TARGET came from (upstream) and what used it (downstream)."""
    from tether.tracking.lineage import resolve_node, trace

    cli = get(ctx)
    session = cli.session()
    graph = trace(session, resolve_node(session, target), depth=depth)
    if as_json:
        typer.echo(json.dumps(graph.to_dict(), indent=2))
        return
    if as_dot:
        typer.echo(graph.to_dot())
        return
    from rich.console import Console
    from rich.tree import Tree

    def grow(tree: Tree, node: object, upstream: bool, path: frozenset[object]) -> None:
        links = graph.parents(node) if upstream else graph.children(node)  # type: ignore[arg-type]
        for other, name in links:
            label = graph.labels.get(other, str(other)) + (f"  [dim]as {name}[/]" if name else "")
            if other in path:
                tree.add(label + "  [dim](cycle)[/]")
                continue
            grow(tree.add(label), other, upstream, path | {other})

    root = Tree(f"[bold]{graph.labels.get(graph.root, str(graph.root))}[/]")
    up = root.add("[cyan]upstream[/] (what it came from)")
    grow(up, graph.root, True, frozenset({graph.root}))
    down = root.add("[magenta]downstream[/] (what used it)")
    grow(down, graph.root, False, frozenset({graph.root}))
    Console().print(root)
