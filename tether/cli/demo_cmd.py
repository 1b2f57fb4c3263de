from __future__ import annotations

from pathlib import Path

import typer


def demo(
    path: Path = typer.Argument(Path("tether-demo"), help="Folder for the demo workspace."),
    executor: str = typer.Option("processes", "--executor", help="processes, inline or ray."),
) -> None:
    """Run the end-to-end example on the embedded default (SQLite + local objects)."""
    from tether.demo import run_demo
    from tether.store.ids import short_id

    result = run_demo(path, echo=typer.echo, executor=executor)
    ws = result.workspace
    typer.echo(
        f"demo workspace: {ws}\nnext, try:\n"
        f"  tether -C {ws} pipeline show {short_id(result.pipeline_run_id)}\n"
        f"  tether -C {ws} runs ls\n"
        f"  tether -C {ws} lineage model:demo-centroids@{result.model_version}\n"
        f"  tether -C {ws} data log demo-points"
    )
