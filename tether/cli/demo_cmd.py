from __future__ import annotations

from pathlib import Path

import typer


def demo(
    path: Path = typer.Argument(Path("tether-demo"), help="Folder for the demo workspace."),
    executor: str = typer.Option(
        "inline", "--executor", help="How the training pipeline runs: inline, processes or ray."
    ),
    keep: bool = typer.Option(
        False, "--keep", help="Leave the model server running afterwards, to explore."
    ),
) -> None:
    """Run the whole loop offline: data, train, gate, serve, drift, retrain, swap."""
    from rich.console import Console

    from tether.demo.loop import run_loop_demo

    console = Console(highlight=False)
    result = run_loop_demo(
        path,
        echo=lambda line: console.print(line, markup=False, soft_wrap=True),
        executor=executor,
        keep=keep,
    )
    ws = result.workspace
    typer.echo(
        f"demo workspace: {ws}\n"
        f"  drift report  {result.report}\n"
        f"  model card    {result.card}\n"
        "next, try:\n"
        f"  tether -C {ws} loop history churn\n"
        f"  tether -C {ws} lineage model:churn@{result.v2}\n"
        f"  tether -C {ws} models ls"
    )
    if result.server_pid is not None:
        pids = " ".join(str(p) for p in (result.server_pid, result.controller_pid) if p)
        typer.echo(
            f"the server is still running at {result.url} (following churn@champion), and the\n"
            f"controller (`tether loop run`, log in {ws}/loop.log) retrains on the next trigger:\n"
            f"  curl {result.url}/v2/models/churn\n"
            f"  tether -C {ws} loop trigger churn --reason 'try it'\n"
            f"stop both with: kill {pids}"
        )
