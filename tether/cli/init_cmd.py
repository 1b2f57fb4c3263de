from __future__ import annotations

from pathlib import Path

import typer

from tether.cli.context import get


def init(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="Folder to make a workspace (default: -C's folder, or here)."
    ),
    project: str | None = typer.Option(
        None, "--project", help="Project name (default: the root --project, or the folder's)."
    ),
) -> None:
    """Create a workspace: .tether/ with config.toml (commit it) and a .gitignore."""
    from tether.config import init_workspace

    cli = get(ctx)
    ws, created = init_workspace(
        path or cli.workspace_dir or Path("."), project or cli.flags.get("core.project")
    )
    if created:
        typer.echo(f"Initialised Tether workspace in {ws.dir}")
    else:
        typer.echo(f"Tether workspace already exists in {ws.dir}; left unchanged")
