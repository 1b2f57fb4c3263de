from __future__ import annotations

from pathlib import Path

import typer


def demo(
    path: Path = typer.Argument(Path("tether-demo"), help="Folder for the demo workspace."),
) -> None:
    """Run the end-to-end example on the embedded default (SQLite + local objects)."""
    from tether.demo import run_demo

    result = run_demo(path, echo=typer.echo)
    typer.echo(
        f"demo workspace: {result.workspace}\nnext, try:\n"
        f"  tether -C {result.workspace} runs ls\n"
        f"  tether -C {result.workspace} runs show {result.run_id[:13]}\n"
        f"  tether -C {result.workspace} lineage model:demo-centroids@"
        f"{result.model_version}"
    )
