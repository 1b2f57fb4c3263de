from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.context import get

if TYPE_CHECKING:
    from tether.tracking.view import RunView

app = typer.Typer(
    help="Tracked runs: list, show, compare, plot, delete, restore.", no_args_is_help=True
)

WIDE = typer.Option(False, "--wide", "-w", help="Full run ids instead of their short form.")


def _id(run_id: str, wide: bool) -> str:
    """A run id as tables show it: in full, or its random tail, which every command accepts."""
    from tether.store.ids import short_id

    return run_id if wide else short_id(run_id)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6g}"


def _run_dict(view: RunView) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "project": view.project,
        "experiment": view.experiment,
        "status": view.status,
        "start_time": view.start_time.isoformat(),
        "end_time": view.end_time.isoformat() if view.end_time else None,
        "duration_s": view.duration_s,
        "parent_id": view.parent_id,
        "deleted": view.run.deleted_at is not None,
        "params": view.params,
        "tags": view.tags,
        "metrics": view.metrics,
    }


@app.command("ls")
def ls(
    ctx: typer.Context,
    filter_: str = typer.Option("", "--filter", "-f", help='e.g. "metrics.acc > 0.9".'),
    sort: str = typer.Option("start_time desc", "--sort", "-s", help='e.g. "metrics.acc desc"'),
    experiment: str | None = typer.Option(None, "--experiment", "-e"),
    limit: int = typer.Option(50, "--limit", "-n"),
    all_: bool = typer.Option(
        False, "--all", "-a", help="Child runs too (pipeline steps, nested runs)."
    ),
    deleted: bool = typer.Option(False, "--deleted", help="Deleted runs too, marked."),
    wide: bool = WIDE,
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """List runs, newest first (filter grammar: docs/tracking.md).

    Child runs (a pipeline's steps) are left out unless --all; `tether pipeline show RUN`
    lists a pipeline's steps. Ids are shown by their last 12 characters, which every command
    accepts, as it accepts the first ones; --wide shows them in full.
    """
    from tether.store.filter import And, Field, IsNull, parse_filter, parse_order_by
    from tether.tracking.view import RunView

    session = get(ctx).session()
    expr = parse_filter(filter_)
    if not all_ and "parent_id" not in filter_:  # a filter on the parent asks for children
        top = IsNull(Field("attributes", "parent_id"))
        expr = top if expr is None else And((expr, top))
    runs = session.store.search_runs(
        session.project,
        expr,
        parse_order_by(sort),
        limit=limit,
        experiment=experiment,
        include_deleted=deleted,
    )
    views = RunView.many(session, runs)
    if as_json:
        for v in views:
            typer.echo(json.dumps(_run_dict(v), default=str))
        return
    from rich.table import Table

    from tether.cli.output import console

    metric_keys = sorted({k for v in views for k in v.metrics})[:6]
    table = Table(box=None)
    table.add_column("run", no_wrap=True)
    for header in ("name", "experiment", "status", "started", "duration", *metric_keys):
        table.add_column(header)
    for v in views:
        table.add_row(
            _id(v.id, wide),
            v.name or "",
            v.experiment,
            v.status + (" (deleted)" if v.run.deleted_at is not None else ""),
            v.start_time.strftime("%Y-%m-%d %H:%M:%S"),
            f"{v.duration_s:.1f}s" if v.duration_s is not None else "",
            *(_fmt(v.metrics.get(k)) for k in metric_keys),
        )
    console(wide=wide).print(table)


@app.command("show")
def show(ctx: typer.Context, run: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Everything recorded about one run (its id, or the first or last characters of it)."""
    view = _resolve(ctx, run)
    if as_json:
        data = _run_dict(view)
        data["code"] = view.info.get("code")
        data["env"] = view.info.get("env")
        data["host"] = view.info.get("host")
        data["command"] = view.info.get("command")
        data["inputs"] = [io.__dict__ for io in view.inputs]
        data["outputs"] = [io.__dict__ for io in view.outputs]
        data["error"] = view.error
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    from rich.table import Table

    from tether.cli.output import console as make_console
    from tether.cli.output import styled

    console = make_console()
    deleted = " (deleted; `tether runs restore` brings it back)" if view.run.deleted_at else ""
    console.print(
        styled(("run", "bold"), f" {view.id}  {view.name or ''}  ", (view.status, "bold"), deleted)
    )
    console.print(
        f"project {view.project}  experiment {view.experiment}  started "
        f"{view.start_time:%Y-%m-%d %H:%M:%S}"
        + (f"  took {view.duration_s:.1f}s" if view.duration_s is not None else "")
    )
    if view.parent_id:
        console.print(f"parent  {view.parent_id}")
    code = view.code
    if code:
        state = "dirty, diff " + (code.diff or "")[:16] if code.dirty else "clean"
        console.print(
            f"code    {code.commit or '(no commit)'} on {code.branch or '(detached)'}"
            f" ({state})" + (f"  {code.remote}" if code.remote else "")
        )
        if code.untracked:
            console.print(f"        untracked: {', '.join(code.untracked[:10])}")
    env = view.env
    if env:
        console.print(f"env     Python {env.python}  packages {(env.packages or '')[:16]}")
    command = view.command
    if command.get("argv"):
        console.print(f"command {' '.join(command['argv'])}")
    for title, mapping in (("params", view.params), ("tags", view.tags)):
        if mapping:
            table = Table(title, "value", box=None)
            for k, v in sorted(mapping.items()):
                table.add_row(k, v)
            console.print(table)
    if view.metric_summaries:
        table = Table("metric", "last", "min", "max", "steps", box=None)
        for k, s in sorted(view.metric_summaries.items()):
            table.add_row(k, _fmt(s.last_value), _fmt(s.min_value), _fmt(s.max_value), str(s.count))
        console.print(table)
    for title, ios in (("inputs", view.inputs), ("outputs", view.outputs)):
        for io in ios:
            console.print(
                f"{title[:-1]:6}  {io.kind:16} {io.ref}" + (f"  ({io.name})" if io.name else "")
            )
    if view.error:
        console.print(styled(("error", "red"), "\n" + view.error.rstrip()))


def _resolve(ctx: typer.Context, run: str) -> RunView:
    from tether.tracking.view import RunView

    session = get(ctx).session()
    return RunView(session, session.store.get_run(session.store.resolve_run_id(run)))


@app.command("compare")
def compare(ctx: typer.Context, runs: list[str], wide: bool = WIDE) -> None:
    """Params and final metrics side by side; rows that differ are marked with *."""
    from rich.table import Table

    from tether.cli.output import console

    views = [_resolve(ctx, r) for r in runs]
    table = Table("", "key", *(f"{_id(v.id, wide)}\n{v.name or ''}" for v in views), box=None)
    for section, values in (
        ("params", [v.params for v in views]),
        ("metrics", [{k: _fmt(x) for k, x in v.metrics.items()} for v in views]),
        ("tags", [v.tags for v in views]),
    ):
        for key in sorted({k for m in values for k in m}):
            cells = [m.get(key, "") for m in values]
            differs = len(set(cells)) > 1
            table.add_row(
                "*" if differs else "",
                f"{section}.{key}",
                *cells,
                style="bold yellow" if differs else None,
            )
    console(wide=wide).print(table)


@app.command("plot")
def plot(
    ctx: typer.Context,
    runs: list[str],
    metric: list[str] = typer.Option(..., "--metric", "-m", help="Metric key(s) to plot."),
    out: Path = typer.Option(Path("metrics.png"), "--out", "-o", help=".png, .svg or .pdf"),
) -> None:
    """Plot metric curves of one or more runs to an image file."""
    from tether.tracking.plot import plot_metrics

    views = [_resolve(ctx, r) for r in runs]
    plot_metrics(views, metric, out)
    typer.echo(f"wrote {out}")


@app.command("delete")
def delete(ctx: typer.Context, runs: list[str]) -> None:
    """Hide runs (and the runs below them, like a pipeline's steps) from lists and search.

    Nothing is freed: `tether runs restore` brings them back. `tether gc` then frees the
    objects that no run, dataset or model refers to any more.
    """
    store = get(ctx).session().store
    for run in runs:
        ids = store.delete_run(store.resolve_run_id(run))
        more = f" and {len(ids) - 1} runs below it" if len(ids) > 1 else ""
        typer.echo(f"deleted run {ids[0]}{more}; `tether runs restore {_id(ids[0], False)}`")


@app.command("restore")
def restore(ctx: typer.Context, runs: list[str]) -> None:
    """Bring deleted runs (and the runs below them) back into lists and search."""
    store = get(ctx).session().store
    for run in runs:
        ids = store.restore_run(store.resolve_run_id(run))
        more = f" and {len(ids) - 1} runs below it" if len(ids) > 1 else ""
        typer.echo(f"restored run {ids[0]}{more}")
