from __future__ import annotations

from pathlib import Path

import typer

from tether.cli.context import get

app = typer.Typer(help="Monitoring: drift and data quality of a table against a reference.",
                  no_args_is_help=True)  # fmt: skip


def drift(
    ctx: typer.Context,
    current: str = typer.Argument(
        ..., help="The table to check: a .parquet or .csv path, or a dataset NAME@N."
    ),
    reference: str | None = typer.Option(
        None, "--reference", "-r", help="The table to compare with: a path or NAME@N."
    ),
    run: str | None = typer.Option(
        None, "--run", help="Compare with the dataset version this run (a training run) read."
    ),
    columns: str | None = typer.Option(None, "--columns", help="Comma-separated columns only."),
    test: str | None = typer.Option(
        None,
        "--test",
        help="One test for every column it fits: ks, wasserstein, psi, "
        "chisquare, jensenshannon (default: by column type and size).",
    ),
    prediction: str | None = typer.Option(None, "--prediction", help="The model output column."),
    target: str | None = typer.Option(None, "--target", help="The label column."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the HTML report here."),
    as_json: bool = typer.Option(False, "--json", help="The report as JSON."),
) -> None:
    """Compare CURRENT with a reference, column by column; exit 0 whatever the verdict.

    The reference is --reference, or the dataset version the training run --run read.
    """
    from tether.monitoring.compare import drift as run_drift
    from tether.monitoring.lineage import training_reference

    if (reference is None) == (run is None):
        raise typer.BadParameter("give either --reference or --run")
    needs_workspace = run is not None or any("@" in x for x in (reference or "", current))
    workspace = get(ctx).workspace() if needs_workspace else None
    if run is not None:
        reference = training_reference(run, workspace=workspace)
    assert reference is not None
    report = run_drift(
        reference,
        current,
        columns=columns.split(",") if columns else None,
        tests=test,
        prediction=prediction,
        target=target,
        workspace=workspace,
    )
    if output is not None:
        report.to_html(output)
    if as_json:
        typer.echo(report.to_json(indent=2))
        return
    drifted = ", ".join(report.drifted_columns) or "none"
    typer.echo(
        f"{len(report.drifted_columns)} of {len(report.features)} columns drifted: {drifted}"
        + ("; dataset drift" if report.dataset_drift else "")
    )
    for issue in report.issues:
        typer.echo(f"  {issue.kind}: {issue.column or '(table)'}: {issue.detail}")
    if output is not None:
        typer.echo(f"wrote {output}")


app.command("drift")(drift)
