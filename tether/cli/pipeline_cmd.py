"""``tether pipeline``: run, list, show and resume pipeline runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.context import get

if TYPE_CHECKING:
    from tether.pipelines.result import PipelineRun

app = typer.Typer(help="Pipelines of cached, tracked steps: run, ls, show, resume.")


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    from tether.errors import InvalidInput

    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param {pair!r} must look like key=value")
        try:
            params[key] = json.loads(text)  # numbers, true/false, lists, quoted strings
        except ValueError:
            params[key] = text
    return params


def _echo_step(state: Any) -> None:
    mark = "cached" if state.cached else state.status
    took = f" {state.duration_s:.2f}s" if state.duration_s and not state.cached else ""
    typer.echo(f"  {state.name}: {mark}{took}", err=True)


def _workspace(ctx: typer.Context) -> Path:
    return get(ctx).workspace().root


def _finish(run: PipelineRun) -> None:
    typer.echo(f"pipeline run {run.id} {run.status}")
    if run.status != "finished":
        typer.echo(f"failed steps: {', '.join(run.failed)}", err=True)
        raise typer.Exit(1)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="FILE:FUNCTION of a @pipeline function."),
    param: list[str] = typer.Option([], "--param", "-p", help="key=value (JSON values parsed)."),
    executor: str = typer.Option("processes", "--executor", "-x", help="processes|inline|ray"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step, cached or not."),
    max_workers: int | None = typer.Option(None, "--max-workers", "-j", help="Parallel steps."),
) -> None:
    """Run a pipeline; prints each step as it ends and the run id."""
    from tether.errors import InvalidInput
    from tether.pipelines.loader import load_file
    from tether.pipelines.pipeline_def import Pipeline

    file, sep, function = target.rpartition(":")
    if not sep or not file or not function:
        raise InvalidInput(f"{target!r} must be FILE:FUNCTION, like pipeline.py:train")
    module = load_file(file)
    pipe = getattr(module, function, None)
    if not isinstance(pipe, Pipeline):
        raise InvalidInput(f"{function!r} in {file} is not a @pipeline function")
    result = pipe.run(
        _parse_params(param),
        executor=executor,
        max_workers=max_workers,
        no_cache=no_cache,
        workspace=_workspace(ctx),
        on_step=_echo_step,
        raise_on_failure=False,  # _finish says what failed and exits 1
    )
    _finish(result)


@app.command("resume")
def resume_cmd(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="A failed pipeline run (id or prefix)."),
    executor: str | None = typer.Option(None, "--executor", "-x", help="Default: as before."),
    max_workers: int | None = typer.Option(None, "--max-workers", "-j"),
) -> None:
    """Re-run what failed in RUN and what depends on it; the rest is reused."""
    from tether.pipelines.resuming import resume

    _finish(
        resume(
            run,
            executor=executor,
            max_workers=max_workers,
            workspace=_workspace(ctx),
            on_step=_echo_step,
            raise_on_failure=False,
        )
    )


@app.command("ls")
def ls(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", "-n"),
    wide: bool = typer.Option(False, "--wide", "-w", help="Full run ids."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Pipeline runs, newest first."""
    from tether.store.filter import parse_filter, parse_order_by

    cli = get(ctx)
    session = cli.session()
    runs = session.store.search_runs(
        session.project,
        parse_filter("tags.`tether.pipeline` is not null"),
        parse_order_by("start_time desc"),
        limit=limit,
    )
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "pipeline": r.tags.get("tether.pipeline"),
            "status": r.status,
            "start_time": r.start_time.isoformat(),
            "duration_s": (r.end_time - r.start_time).total_seconds() if r.end_time else None,
            "steps": len((r.info.get("pipeline") or {}).get("steps", [])),
            "resumes": r.tags.get("tether.pipeline.resumes"),
        }
        for r in runs
    ]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from rich.table import Table

    from tether.cli.output import console
    from tether.store.ids import short_id

    table = Table(box=None)
    table.add_column("run", no_wrap=True)
    for header in ("pipeline", "status", "started", "duration", "steps"):
        table.add_column(header)
    for row in rows:
        table.add_row(
            row["id"] if wide else short_id(row["id"]),
            row["pipeline"] or "",
            row["status"],
            row["start_time"][:19].replace("T", " "),
            f"{row['duration_s']:.1f}s" if row["duration_s"] is not None else "",
            str(row["steps"]),
        )
    console(wide=wide).print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="A pipeline run (id or prefix)."),
    as_json: bool = typer.Option(False, "--json", help="The run and its steps as JSON."),
) -> None:
    """Steps of a pipeline run: status, timings, cache hits, and the graph."""
    from tether.pipelines.resuming import get_pipeline_run

    result = get_pipeline_run(run, workspace=_workspace(ctx))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    from rich.table import Table

    from tether.cli.output import console as make_console
    from tether.cli.output import styled
    from tether.store.ids import short_id

    console = make_console()
    console.print(
        styled(("pipeline", "bold"), f" {result.name}  run {result.id}  ", (result.status, "bold"))
    )
    table = Table("step", "status", "cached", "duration", "run", "outputs", box=None)
    for s in result.steps.values():
        table.add_row(
            s.name,
            s.status,
            "yes" if s.cached else "",
            f"{s.duration_s:.2f}s" if s.duration_s is not None else "",
            short_id(s.run_id) if s.run_id else "",
            ", ".join(f"{n}={d[:10]}" for n, d in s.outputs.items()),
        )
    console.print(table)
    console.print(styled(("graph", "bold")))
    for line in result.graph_lines():
        console.print("  " + line)
    for s in result.steps.values():
        if s.error:
            console.print(styled((s.name, "red"), ": " + s.error.strip().splitlines()[-1]))
