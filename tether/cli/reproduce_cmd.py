from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tether.cli.context import get


def reproduce(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="Run id or unique prefix."),
    exact_env: bool = typer.Option(
        False,
        "--exact-env",
        help="Re-run in a fresh virtual environment of the recorded "
        "packages instead of the current one.",
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the scratch folder for inspection."),
    scratch: Path | None = typer.Option(None, "--scratch", help="Scratch folder to use."),
) -> None:
    """Rebuild RUN's code and inputs in a scratch folder, re-run it and compare the results.

    For a pipeline run, every step runs again without the cache and each step's outputs are
    compared."""

    from tether.cli.output import console as make_console
    from tether.cli.output import styled
    from tether.pipelines.reproduce import is_pipeline_run
    from tether.tracking.reproduce import reproduce as run_reproduce

    cli = get(ctx)
    session = cli.session()
    console = make_console()
    original = session.store.get_run(session.store.resolve_run_id(run))
    if is_pipeline_run(original):
        _pipeline(session, original.id, scratch, keep, exact_env, console)
        return
    report = run_reproduce(
        session,
        run,
        exact_env=exact_env,
        scratch=scratch,
        keep=keep,
        echo=console.print,
    )
    for warning in report.warnings:
        console.print(styled(("warning", "yellow"), f" {warning}"))
    if report.new_id is None:
        console.print(
            styled((f"the re-run exited with {report.returncode} and recorded no run", "red"))
        )
        raise typer.Exit(1)
    _compare(console, report, "every output and final metric is identical")


def _pipeline(
    session: object, run_id: str, scratch: Path | None, keep: bool, exact_env: bool, console: Any
) -> None:

    from tether.cli.output import styled
    from tether.errors import InvalidInput
    from tether.pipelines.reproduce import reproduce_pipeline

    if exact_env:
        raise InvalidInput("--exact-env is not available for pipeline runs yet; drop it")
    report = reproduce_pipeline(session, run_id, scratch=scratch, keep=keep, echo=console.print)
    for warning in report.warnings:
        console.print(styled(("warning", "yellow"), f" {warning}"))
    if report.returncode != 0 or report.new_id is None:
        console.print(report.output)
        console.print(styled((f"the re-run exited with {report.returncode}", "red")))
        if report.new_id is None:
            raise typer.Exit(1)
    _compare(console, report, "every step's outputs are identical")


def _compare(console: Any, report: Any, identical: str) -> None:
    """The table of what was compared (a run's or a pipeline's report); exit 1 unless all same."""
    from rich.table import Table

    from tether.cli.output import styled

    table = Table("", "what", "original", "reproduced", box=None)
    for c in report.comparisons:
        table.add_row(
            styled(("same", "green")) if c.same else styled(("differs", "red")),
            f"{c.kind} {c.key}",
            (c.original or "-")[:24],
            (c.new or "-")[:24],
        )
    console.print(f"original {report.original_id}  reproduced {report.new_id}")
    console.print(table)
    if report.identical:
        console.print(styled((f"reproduced: {identical}", "green")))
    else:
        console.print(styled(("not identical", "red"), " (see the rows marked differs)"))
        raise typer.Exit(1)
