from __future__ import annotations

from pathlib import Path

import typer


def init(
    path: Path = typer.Argument(Path("."), help="Folder to make a workspace (default: here)."),
    project: str | None = typer.Option(None, "--project", help="Project name (default: folder)."),
) -> None:
    """Create a workspace: .tether/ with config.toml (commit it) and a .gitignore."""
    from tether.config import init_workspace

    ws, created = init_workspace(path, project)
    if created:
        typer.echo(f"Initialised Tether workspace in {ws.dir}")
    else:
        typer.echo(f"Tether workspace already exists in {ws.dir}; left unchanged")
