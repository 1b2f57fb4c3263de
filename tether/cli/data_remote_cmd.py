"""``tether data push`` and ``tether data pull``: copy dataset versions to and from a remote."""

from __future__ import annotations

import typer

from tether.cli.context import get
from tether.cli.progress import progress_bar

_REFS = typer.Argument(
    None,
    metavar="[NAME[@VERSION]]...",
    help="Datasets to transfer (default: the latest version of every dataset).",
    show_default=False,
)
_REMOTE = typer.Option(
    None, "--remote", "-r", help="Remote to use (default: core.remote, see `tether remote ls`)."
)
_ALL = typer.Option(
    False, "--all-versions", help="Every version of the named datasets, not just the latest."
)


def push(
    ctx: typer.Context,
    refs: list[str] | None = _REFS,
    remote: str | None = _REMOTE,
    all_versions: bool = _ALL,
) -> None:
    """Send dataset versions to a remote: only the objects it lacks, in parallel.

    Safe to interrupt: a re-run copies only what is still missing.
    """
    _transfer(ctx, "push", refs, remote, all_versions)


def pull(
    ctx: typer.Context,
    refs: list[str] | None = _REFS,
    remote: str | None = _REMOTE,
    all_versions: bool = _ALL,
) -> None:
    """Fetch dataset versions from a remote: only the objects the workspace lacks.

    Safe to interrupt: a re-run copies only what is still missing.
    """
    _transfer(ctx, "pull", refs, remote, all_versions)


def _transfer(
    ctx: typer.Context, verb: str, refs: list[str] | None, name: str | None, all_versions: bool
) -> None:
    from tether.data.errors import format_size
    from tether.data.remote import open_remote, plan_pull, plan_push

    cli = get(ctx)
    settings = cli.settings()
    remote = settings.remote(name)
    remote_objects = open_remote(
        remote, workers=settings.objects_workers, fsync=bool(settings["objects.fsync"])
    )
    plan_fn = plan_push if verb == "push" else plan_pull
    plan = plan_fn(
        cli.store(),
        cli.objects(),
        remote_objects,
        settings.project,
        refs or None,
        all_versions=all_versions,
    )
    if not plan.versions:
        typer.echo(f"nothing to {verb}: project {settings.project!r} has no datasets")
        return
    direction = "to" if verb == "push" else "from"
    description = f"{verb}ing {direction} {remote.name}"
    with progress_bar(description, plan.bytes_to_copy, unit_bytes=True) as advance:
        report = plan.run(progress=advance)
    versions = len(plan.versions)
    typer.echo(
        f"{verb}ed {versions} version{'s' if versions != 1 else ''} {direction} {remote.name} "
        f"({remote.url}): copied {report.copied} objects ({format_size(report.bytes)}), "
        f"skipped {report.skipped} already there"
    )
