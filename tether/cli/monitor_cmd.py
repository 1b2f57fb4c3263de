from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from tether.cli.context import get


class _Group(TyperGroup):
    """``tether monitor NAME@ALIAS ...`` is short for ``tether monitor window NAME@ALIAS ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["window", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_Group,
    help="Monitoring: drift and data quality against a reference; a served model's prediction "
    "log against its training data (tether monitor NAME@ALIAS --window 1h); delayed labels.",
    no_args_is_help=True,
)
labels_app = typer.Typer(help="Delayed labels: ground truth joined to the prediction log.",
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
    _show(report, output, as_json)


def _show(report: Any, output: Path | None, as_json: bool, performance: Any = None) -> None:
    if output is not None:
        report.to_html(output, performance=performance)
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


def window(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="The served model: NAME@ALIAS or NAME@N."),
    span: str = typer.Option("1h", "--window", "-w", help="How far back: 30min, 1h, 2D."),
    reference: str | None = typer.Option(
        None, "--reference", "-r", help="Compare with NAME@N instead of the training data."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write the HTML report here (with performance over time when labels exist).",
    ),
    as_json: bool = typer.Option(False, "--json", help="The report as JSON."),
) -> None:
    """The last --window of MODEL's prediction log against the data its training run read.

    Records the result as a monitor.drift event (the share of drifted columns), which a
    continuous-training loop's drift trigger reads. Exit 0 whatever the verdict.
    """
    from tether.monitoring.served import monitor, parse_window

    ws = get(ctx).workspace()
    end = datetime.now(UTC)
    report = monitor(model, window=span, end=end, reference=reference, workspace=ws)
    perf = _labelled_performance(model, ws) if output is not None else None
    _show(report, output, as_json, perf)
    if not as_json:
        for line in _window_performance(model, end - parse_window(span), end, ws):
            typer.echo(line)


def _window_performance(model: str, start: datetime, end: datetime, ws: Any) -> list[str]:
    """A line per model version on the window's classification performance: measured on the
    labelled predictions, estimated (CBPE) on the others; for a model with no estimate (not a
    classifier with predict_proba), why there is none."""
    from tether.monitoring.labels import model_performance
    from tether.monitoring.served import served_version

    version = served_version(model, ws).version
    table = model_performance(model, window=None, start=start, end=end, record=False, workspace=ws)
    lines = []
    for row in table.to_dict(orient="records"):
        if row["version"] != version:
            continue
        if "estimated_rows" not in row or row["estimated_rows"] != row["estimated_rows"]:
            if table.attrs.get("no_estimate"):  # say why, rather than nothing
                lines.append(f"performance of v{version}: {table.attrs['no_estimate']}")
            continue
        parts = [f"{row['predictions']} predictions, {row['unlabelled']:.0%} unlabelled"]
        if row["labelled"]:
            parts.append(f"accuracy {row['accuracy']:.3f} on {row['labelled']} labelled")
        if row["estimated_rows"]:
            parts.append(
                f"estimated accuracy {row['estimated_accuracy']:.3f}, "
                f"f1 {row['estimated_f1']:.3f}, roc auc {row['estimated_roc_auc']:.3f} "
                f"on {int(row['estimated_rows'])} unlabelled "
                "(CBPE estimate from the model's probabilities, not measured)"
            )
        lines.append(f"performance of v{version}: " + "; ".join(parts))
    return lines


def _labelled_performance(model: str, ws: Any) -> Any:
    """The model's performance per hour, for the HTML report; None without labels."""
    from tether.monitoring.errors import EmptyWindow
    from tether.monitoring.labels import model_performance

    try:
        table = model_performance(model, window="1h", record=False, workspace=ws)
    except EmptyWindow:
        return None
    return table if len(table) and table["labelled"].sum() > 0 else None


def labels_add(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A .csv or .parquet file: request_id, label."),
    model: str = typer.Option(..., "--model", "-m", help="The model name the labels are for."),
) -> None:
    """Store the labels in FILE as ground truth of MODEL's logged requests."""
    from tether.monitoring.labels import log_labels, read_label_file

    ids, values = read_label_file(file)
    n = log_labels(model, ids, values, workspace=get(ctx).workspace())
    typer.echo(f"stored {n} labels for {model}")


def performance(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="The model name."),
    span: str = typer.Option("1h", "--window", "-w", help="Metrics per window: 1h, 1D."),
    task: str = typer.Option("classification", "--task", help="classification or regression."),
    slices: list[str] | None = typer.Option(
        None,
        "--slice",
        "-s",
        help="Also the metrics of the predictions in this slice of the logged inputs, e.g. "
        "\"country == 'DE'\" (repeatable).",
    ),
    proba: str | None = typer.Option(
        None,
        "--proba",
        help="The log column holding the positive class's probability, for the estimate "
        "(default: the model's predict_proba on the logged inputs).",
    ),
    estimate: bool = typer.Option(
        True, "--estimate/--no-estimate", help="Estimate unlabelled predictions (CBPE)."
    ),
    positive: str | None = typer.Option(
        None,
        "--positive",
        help="The positive class of a binary model, for precision, recall and F1 (measured "
        "and estimated; default: the model's second class, classes_[1]).",
    ),
    as_json: bool = typer.Option(False, "--json", help="The table as JSON lines."),
) -> None:
    """Metrics of MODEL's logged predictions joined to their labels, per window and version
    (and per --slice); the predictions not labelled yet are scored by an estimate from the
    model's own probabilities (confidence-based performance estimation), in estimated_*
    columns.

    Records the latest window as a monitor.performance event.
    """
    from tether.monitoring.labels import model_performance

    table = model_performance(
        model,
        window=span,
        task=task,
        slices=slices,
        estimate=estimate,
        proba=proba,
        positive=positive,
        workspace=get(ctx).workspace(),
    )
    if as_json:
        typer.echo(table.to_json(orient="records", lines=True, date_format="iso"))
    else:
        typer.echo(table.to_string(index=False) if len(table) else "no predictions")
        if "estimated_rows" in table.columns:
            typer.echo(
                "estimated_*: an estimate (CBPE, from the model's probabilities) over the "
                "estimated_rows predictions with no label yet, not a measurement"
            )
        for version, cls in table.attrs.get("positive", {}).items():
            typer.echo(f"v{version}: precision, recall and F1 of the positive class {cls!r}")
        for version in table.attrs.get("macro", []):
            typer.echo(f"v{version}: precision, recall and F1 are macro averages over its classes")
    if estimate and table.attrs.get("no_estimate"):
        typer.echo(table.attrs["no_estimate"])
    unknown = table.attrs.get("unknown_labels", 0)
    if unknown:
        typer.echo(f"{unknown} labels name request ids the prediction log does not hold")


def run_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A [monitor.NAME] table of .tether/config.toml."),
) -> None:
    """Check the stored monitor NAME now: drift over its window, performance where labels
    exist; alert through its webhook and the log when a threshold is crossed."""
    from tether.monitoring.monitors import get_monitor, load_monitors, run_monitor

    ws = get(ctx).workspace()
    m = get_monitor(load_monitors(ws.config_path), name)
    _outcome(run_monitor(m, ws))


def tick(ctx: typer.Context) -> None:
    """Check every stored monitor whose schedule fired since its last check."""
    from tether.monitoring.monitors import tick as run_tick

    outcomes = run_tick(get(ctx).workspace())
    if not outcomes:
        typer.echo("no monitor is due")
    for outcome in outcomes:
        _outcome(outcome)


def _outcome(o: Any) -> None:
    parts = []
    if o.share_drifted is not None:
        parts.append(f"{o.share_drifted:.0%} of columns drifted")
    if o.performance is not None:
        parts.append(f"performance {o.performance:.4g}")
    if o.skipped:
        parts.append(o.skipped)
    parts.append(f"{o.sent} alerts sent, {o.quiet} quiet, {o.failed} failed")
    typer.echo(f"{o.monitor}: " + "; ".join(parts))


app.command("drift")(drift)
app.command("run")(run_cmd)
app.command("tick")(tick)
app.command("window")(window)
app.command("performance")(performance)
labels_app.command("add")(labels_add)
app.add_typer(labels_app, name="labels")
