from __future__ import annotations

import json

import typer

from tether.cli.context import get

app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print every effective setting and where its value came from."""
    from tether.config import SETTINGS

    settings = get(ctx).settings()
    rows = [settings.resolved[s.key] for s in SETTINGS]
    if as_json:
        typer.echo(
            json.dumps({r.key: {"value": r.value, "source": r.source} for r in rows}, indent=2)
        )
        return
    from rich.table import Table

    from tether.cli.output import console

    table = Table("setting", "value", "source", box=None)
    for r in rows:
        table.add_row(r.key, "" if r.value is None else str(r.value), r.source)
    console(wide=True).print(table)  # values in full, never cut


@app.command("get")
def get_value(ctx: typer.Context, key: str) -> None:
    """Print the effective value of one setting."""
    from tether.config.errors import InvalidSetting
    from tether.config.settings import BY_KEY

    if key not in BY_KEY:
        raise InvalidSetting(f"unknown setting {key!r}; known settings: {', '.join(BY_KEY)}")
    value = get(ctx).settings()[key]
    typer.echo("" if value is None else str(value))
