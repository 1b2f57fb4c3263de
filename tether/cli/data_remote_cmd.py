"""``tether data push`` and ``tether data pull``: copy dataset versions to and from a remote."""

from __future__ import annotations

import typer

from tether.cli.context import get
from tether.cli.progress import progress_bar

_REFS = typer.Argument(
    None,
    metavar="[NAME[@VERSION]]...",
    help=(
        "Datasets to transfer (default: the latest version of every dataset; a pull also "
        "takes the versions the pointer files name)."
    ),
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

    Also writes a small record of each version (name, number, tree, message, time) that a
    fresh clone's `tether data pull` registers. Safe to interrupt: a re-run copies only what
    is still missing.
    """
    _transfer(ctx, "push", refs, remote, all_versions)


def pull(
    ctx: typer.Context,
    refs: list[str] | None = _REFS,
    remote: str | None = _REMOTE,
    all_versions: bool = _ALL,
) -> None:
    """Fetch dataset versions from a remote: only the objects the workspace lacks.

    Without NAME: the versions the pointer files (.tether) name, and the latest version of
    every dataset here. In a fresh clone, versions this workspace does not know are registered
    from the remote's records, with their history. Safe to interrupt: a re-run copies only what
    is still missing.
    """
    _transfer(ctx, "pull", refs, remote, all_versions)


def _transfer(
    ctx: typer.Context, verb: str, refs: list[str] | None, name: str | None, all_versions: bool
) -> None:
    from tether.data.errors import format_size
    from tether.data.transfer import plan_transfer

    cli = get(ctx)
    settings = cli.settings()
    remote, plan = plan_transfer(
        cli.data_repo(), verb, refs, remote=name, all_versions=all_versions
    )
    if not plan.versions:
        if verb == "push":
            typer.echo(
                f"nothing to push: project {settings.project!r} has no datasets; "
                "add one with `tether data add PATH`"
            )
        else:
            typer.echo(
                f"nothing to pull: no pointer files (.tether) here and project "
                f"{settings.project!r} has no datasets; pull NAME[@VERSION] by name, or "
                "check out the git commit that holds the pointer files"
            )
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
    if plan.records_written:
        n = plan.records_written
        typer.echo(f"wrote {n} dataset-version record{'s' if n != 1 else ''} for fresh clones")
    if plan.registered:
        n = len(plan.registered)
        names = ", ".join(f"{v.dataset}@{v.version}" for v in plan.registered)
        typer.echo(f"registered {n} version{'s' if n != 1 else ''} in this workspace: {names}")
    for note in plan.notes:
        typer.echo(f"note: {note}")
