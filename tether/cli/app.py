"""The ``tether`` command tree. Each command is a thin call into the Python API.

Building the whole tree costs tens of milliseconds (every command module imported, every
parameter turned into a click option), so ``tether data status`` builds only the ``data``
branch: ``build_app(only="data")``. ``tether --help`` and unknown commands get the whole tree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from tether.cli.context import CliContext


def _version(value: bool) -> None:
    if value:
        from tether import __version__

        typer.echo(f"tether {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        expose_value=False,
        help="Print the version and exit.",
    ),
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
    cli.export_flags()  # for the code that opens its own stores: sessions, steps, re-runs


def _init(app: typer.Typer) -> None:
    from tether.cli import init_cmd

    app.command("init")(init_cmd.init)


def _demo(app: typer.Typer) -> None:
    from tether.cli import demo_cmd

    app.command("demo")(demo_cmd.demo)


def _config(app: typer.Typer) -> None:
    from tether.cli import config_cmd

    app.add_typer(config_cmd.app, name="config")


def _objects(app: typer.Typer) -> None:
    from tether.cli import objects_cmd

    app.add_typer(objects_cmd.app, name="objects")


def _store(app: typer.Typer) -> None:
    from tether.cli import store_cmd

    app.add_typer(store_cmd.app, name="store")


def _runs(app: typer.Typer) -> None:
    from tether.cli import runs_cmd

    app.add_typer(runs_cmd.app, name="runs")


def _data(app: typer.Typer) -> None:
    from tether.cli import data_cmd, data_diff_cmd, data_remote_cmd

    data = typer.Typer(help=data_cmd.app.info.help, no_args_is_help=True)
    data.registered_commands = list(data_cmd.app.registered_commands)
    data.command("diff")(data_diff_cmd.diff)
    data.command("push")(data_remote_cmd.push)
    data.command("pull")(data_remote_cmd.pull)
    app.add_typer(data, name="data")


def _remote(app: typer.Typer) -> None:
    from tether.cli import remote_cmd

    app.add_typer(remote_cmd.app, name="remote")


def _pipeline(app: typer.Typer) -> None:
    from tether.cli import pipeline_cmd

    app.add_typer(pipeline_cmd.app, name="pipeline")


def _models(app: typer.Typer) -> None:
    from tether.cli import models_cmd, models_gate_cmd

    models_cmd.app.command("gate")(models_gate_cmd.gate)
    app.add_typer(models_cmd.app, name="models")


def _monitor(app: typer.Typer) -> None:
    from tether.cli import monitor_cmd

    app.add_typer(monitor_cmd.app, name="monitor")


def _loop(app: typer.Typer) -> None:
    from tether.cli import loop_cmd

    app.add_typer(loop_cmd.app, name="loop")


def _lineage(app: typer.Typer) -> None:
    from tether.cli import lineage_cmd

    app.command("lineage")(lineage_cmd.lineage)


def _reproduce(app: typer.Typer) -> None:
    from tether.cli import reproduce_cmd

    app.command("reproduce")(reproduce_cmd.reproduce)


def _gc(app: typer.Typer) -> None:
    from tether.cli import gc_cmd

    app.command("gc")(gc_cmd.gc)


def _serve(app: typer.Typer) -> None:
    from tether.cli import serve_cmd

    app.command("serve")(serve_cmd.serve)


def _deploy(app: typer.Typer) -> None:
    from tether.cli import deploy_cmd

    app.add_typer(deploy_cmd.app, name="deploy")


# top-level command -> what registers it, in the order `tether --help` lists them
COMMANDS: dict[str, Callable[[typer.Typer], None]] = {
    "init": _init,
    "demo": _demo,
    "config": _config,
    "objects": _objects,
    "gc": _gc,
    "store": _store,
    "runs": _runs,
    "data": _data,
    "remote": _remote,
    "pipeline": _pipeline,
    "models": _models,
    "monitor": _monitor,
    "loop": _loop,
    "lineage": _lineage,
    "reproduce": _reproduce,
    "serve": _serve,
    "deploy": _deploy,
}


def build_app(only: str | None = None) -> typer.Typer:
    """The command tree; with ``only`` a known top-level command, just that branch."""
    app = typer.Typer(
        name="tether",
        help="Tether binds data, code, runs and models into one reproducible MLOps loop.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(root)
    for name, register in COMMANDS.items():
        if only not in COMMANDS or name == only:
            register(app)
    return app
