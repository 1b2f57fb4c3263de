"""The ``tether`` command tree. Each command is a thin call into the Python API."""

from __future__ import annotations

from pathlib import Path

import typer

from tether.cli import (
    config_cmd,
    data_cmd,
    data_diff_cmd,
    data_remote_cmd,
    demo_cmd,
    init_cmd,
    lineage_cmd,
    objects_cmd,
    pipeline_cmd,
    remote_cmd,
    reproduce_cmd,
    runs_cmd,
    store_cmd,
)
from tether.cli.context import CliContext

app = typer.Typer(
    name="tether",
    help="Tether binds data, code, runs and models into one reproducible MLOps loop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Path | None = typer.Option(
        None, "--workspace", "-C", help="Workspace folder (default: found from the current one)."
    ),
    project: str | None = typer.Option(None, "--project", help="Override core.project."),
    store_url: str | None = typer.Option(None, "--store-url", help="Override store.url."),
    objects_url: str | None = typer.Option(None, "--objects-url", help="Override objects.url."),
) -> None:
    cli = CliContext(
        workspace_dir=workspace,
        flags={"core.project": project, "store.url": store_url, "objects.url": objects_url},
    )
    ctx.obj = cli
    ctx.call_on_close(cli.close)


app.command("init")(init_cmd.init)
app.command("demo")(demo_cmd.demo)
app.add_typer(config_cmd.app, name="config")
app.add_typer(objects_cmd.app, name="objects")
app.add_typer(store_cmd.app, name="store")
app.add_typer(runs_cmd.app, name="runs")
data_cmd.app.command("diff")(data_diff_cmd.diff)
data_cmd.app.command("push")(data_remote_cmd.push)
data_cmd.app.command("pull")(data_remote_cmd.pull)
app.add_typer(data_cmd.app, name="data")
app.add_typer(remote_cmd.app, name="remote")
app.add_typer(pipeline_cmd.app, name="pipeline")
app.command("lineage")(lineage_cmd.lineage)
app.command("reproduce")(reproduce_cmd.reproduce)
