"""``tether remote``: name the places that ``tether data push`` and ``pull`` use."""

from __future__ import annotations

import typer

from tether.cli.context import get

app = typer.Typer(
    help="Remotes: folders or buckets that `tether data push` and `pull` send data to and from.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the remote (letters, digits, '_', '-')."),
    url: str = typer.Argument(..., help="A folder, s3://BUCKET/PREFIX, gs://… or az://…"),
    default: bool = typer.Option(False, "--default", help="Make it the default remote."),
    endpoint_url: str | None = typer.Option(
        None, "--endpoint-url", help="Endpoint of an S3-compatible service (MinIO, Ceph…)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a remote of the same name."),
) -> None:
    """Add a remote to the workspace config (.tether/config.toml). Credentials are never
    stored: S3 reads them from the AWS environment variables or ~/.aws."""
    from tether.config.remote_edit import add_remote, config_url

    workspace = get(ctx).workspace()
    written = config_url(url, workspace.root)
    add_remote(
        workspace.config_path,
        name,
        written,
        endpoint_url=endpoint_url,
        force=force,
        default=default,
    )
    typer.echo(f"added remote {name}: {written}" + (" (default)" if default else ""))


@app.command("ls")
def ls(ctx: typer.Context) -> None:
    """List the remotes; '*' marks the default."""
    settings = get(ctx).settings()
    remotes = settings.remotes
    if not remotes:
        typer.echo("no remotes; add one with `tether remote add NAME URL --default`")
        return
    default = settings.default_remote
    width = max(len(n) for n in remotes)
    for name in sorted(remotes):
        r = remotes[name]
        mark = "*" if name == default else " "
        line = f"{mark} {name:<{width}}  {r.url}"
        if r.endpoint_url:
            line += f"  (endpoint {r.endpoint_url})"
        typer.echo(line)


@app.command("remove")
def remove(ctx: typer.Context, name: str) -> None:
    """Remove a remote from the workspace config (its data stays where it is)."""
    from tether.config.remote_edit import remove_remote
    from tether.config.remotes import UnknownRemote

    cli = get(ctx)
    workspace = cli.workspace()
    settings = cli.settings()
    known = settings.remotes.get(name)
    if known is not None and known.source != str(workspace.config_path):
        raise UnknownRemote(
            name,
            settings.remotes,
            f" in the workspace config (it comes from {known.source}; edit that file)",
        )
    was_default = remove_remote(workspace.config_path, name)
    note = "; it was the default, so no remote is the default now" if was_default else ""
    typer.echo(f"removed remote {name}{note}")


@app.command("default")
def default(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Remote to make the default."),
    unset: bool = typer.Option(False, "--unset", help="Make no remote the default."),
) -> None:
    """Set the default remote (core.remote); with no NAME, print it."""
    from tether.config.remote_edit import set_default_remote
    from tether.config.remotes import UnknownRemote

    cli = get(ctx)
    if unset:
        set_default_remote(cli.workspace().config_path, None)
        typer.echo("no remote is the default now")
        return
    settings = cli.settings()
    if name is None:
        current = settings.default_remote
        typer.echo(current if current is not None else "no default remote")
        return
    if name not in settings.remotes:
        raise UnknownRemote(name, settings.remotes)
    set_default_remote(cli.workspace().config_path, name)
    typer.echo(f"default remote: {name}")
