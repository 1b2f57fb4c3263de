from __future__ import annotations

import typer

from tether.cli.context import get

app = typer.Typer(help="The metadata store.", no_args_is_help=True)


@app.command("info")
def info(ctx: typer.Context) -> None:
    """Open the metadata store (applying migrations) and print what it holds."""
    store = get(ctx).store()
    projects = store.list_projects()
    typer.echo(f"store     {store.url}")
    typer.echo(f"projects  {', '.join(p.name for p in projects) or '(none)'}")
