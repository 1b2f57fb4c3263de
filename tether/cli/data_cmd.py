"""``tether data``: version files, folders and tables; status, log, show, checkout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tether.cli.context import get
from tether.cli.progress import progress_bar

if TYPE_CHECKING:
    from tether.data import CheckoutReport, DataRepo

app = typer.Typer(
    help="Dataset versions: add, ls, log, show, status, checkout, diff, delete, restore.",
    no_args_is_help=True,
)


def _repo(ctx: typer.Context) -> DataRepo:
    return get(ctx).data_repo()


def _size(n: int) -> str:
    from tether.data.errors import format_size

    return format_size(n)


@app.command("add")
def add(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A file, a folder, or a table (.parquet / .csv)."),
    name: str | None = typer.Option(None, "--name", help="Dataset name (default: PATH's name)."),
    message: str | None = typer.Option(None, "-m", "--message", help="What changed."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace PATH.tether or the .gitignore beside PATH when it is a symlink "
        "(otherwise refused; the link's target is never read or written).",
    ),
) -> None:
    """Version PATH as the next version of a dataset; write PATH.tether for git."""
    from tether.data import add as add_data

    repo = _repo(ctx)
    with progress_bar(f"adding {path}", None, unit_bytes=True) as advance:
        result = add_data(repo, path, name=name, message=message, force=force, progress=advance)
    v = result.version
    what = f"{v.dataset}@{v.version} ({v.file_count} files, {_size(v.total_size)})"
    if result.created:
        typer.echo(f"added {what}")
    else:
        typer.echo(f"unchanged: {path} is the same as {what}; no new version")
    if result.pointer is not None:
        typer.echo(f"pointer {result.pointer.relative_to(repo.workspace.root)} (commit it)")


@app.command("ls")
def ls(
    ctx: typer.Context,
    deleted: bool = typer.Option(False, "--deleted", help="Deleted datasets too, marked."),
    as_json: bool = typer.Option(False, "--json", help="One JSON per line."),
) -> None:
    """Datasets with their latest version, file count and size."""
    from tether.store import ProjectNotFound

    repo = _repo(ctx)
    try:
        live = set(repo.store.list_datasets(repo.project))
        names = repo.store.list_datasets(repo.project, include_deleted=True) if deleted else live
    except ProjectNotFound:  # nothing recorded yet (a fresh clone before `tether data pull`)
        live, names = set(), set()
    rows = [repo.store.get_dataset_version(repo.project, name) for name in sorted(names)]
    if as_json:
        for v in rows:
            typer.echo(json.dumps({**_version_dict(v), "deleted": v.dataset not in live}))
        return
    if not rows:
        typer.echo(
            "no datasets yet; add one with `tether data add PATH` (in a fresh clone, "
            "`tether data pull` fetches those the pointer files name)"
        )
        return
    typer.echo(f"{'NAME':<24} {'VERSION':>7} {'FILES':>9} {'SIZE':>10}  CREATED")
    for v in rows:
        typer.echo(
            f"{v.dataset:<24} {v.version:>7} {v.file_count:>9} {_size(v.total_size):>10}  "
            f"{v.created_at:%Y-%m-%d %H:%M}" + ("  (deleted)" if v.dataset not in live else "")
        )


@app.command("delete")
def delete(
    ctx: typer.Context, names: list[str] = typer.Argument(..., help="Dataset names.")
) -> None:
    """Hide datasets from `tether data ls`; their versions stay readable and restorable.

    Nothing is freed: `tether data restore NAME` brings a dataset back, and so does adding a
    new version. `tether gc` then frees the objects nothing refers to any more. Pointer files
    and checked-out folders are left as they are.
    """
    repo = _repo(ctx)
    for name in names:
        repo.store.delete_dataset(repo.project, name)
        typer.echo(f"deleted dataset {name}; `tether data restore {name}` brings it back")


@app.command("restore")
def restore(
    ctx: typer.Context, names: list[str] = typer.Argument(..., help="Dataset names.")
) -> None:
    """Bring deleted datasets back into `tether data ls`."""
    repo = _repo(ctx)
    for name in names:
        repo.store.restore_dataset(repo.project, name)
        typer.echo(f"restored dataset {name}")


def _version_dict(v: object) -> dict[str, object]:
    from dataclasses import asdict

    d = asdict(v)  # type: ignore[call-overload]
    d["created_at"] = d["created_at"].isoformat()
    return d


@app.command("log")
def log(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name."),
    as_json: bool = typer.Option(False, "--json", help="One JSON per line."),
) -> None:
    """Versions of a dataset, newest first."""
    from tether.store import DatasetNotFound, ProjectNotFound
    from tether.store.ids import short_id

    repo = _repo(ctx)
    try:
        versions = list(reversed(repo.store.list_dataset_versions(repo.project, name)))
    except ProjectNotFound:
        raise DatasetNotFound(repo.project, name) from None
    if as_json:
        for v in versions:
            typer.echo(json.dumps(_version_dict(v)))
        return
    typer.echo(f"{'VERSION':>7}  {'DATE':<16} {'FILES':>9} {'SIZE':>10}  {'RUN':<12} MESSAGE")
    for v in versions:
        typer.echo(
            f"{v.version:>7}  {v.created_at:%Y-%m-%d %H:%M} {v.file_count:>9} "
            f"{_size(v.total_size):>10}  {short_id(v.run_id) if v.run_id else '-':<12} "
            f"{v.message or ''}"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@VERSION (or NAME for the latest)."),
    as_json: bool = typer.Option(False, "--json", help="The version and its files as JSON."),
) -> None:
    """Files of a dataset version with their sizes."""
    from tether.data import files, resolve

    repo = _repo(ctx)
    v = resolve(repo, ref)
    entries = files(repo, v)
    if as_json:
        doc = _version_dict(v)
        doc["files"] = [
            {"path": e.path, "size": e.size, "digest": e.digest, "mode": oct(e.mode)}
            for e in entries
        ]
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo(
        f"{v.dataset}@{v.version}  tree {v.tree_digest}  {v.file_count} files, "
        f"{_size(v.total_size)}" + (f"  {v.message}" if v.message else "")
    )
    for e in entries:
        typer.echo(f"{_size(e.size):>10}  {e.path}")


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per dataset."),
) -> None:
    """What changed in the workspace since each pointer's version: added, removed, modified."""
    # One formatting for this command and its fast path (tether.cli.data_status, which answers
    # unchanged data before Typer is imported): tests/cli/test_data_status.py compares them.
    from tether.cli.data_status import render
    from tether.data import status as data_status

    result = data_status(_repo(ctx))
    typer.echo(render([s.to_dict() for s in result], as_json), nl=False)


@app.command("checkout")
def checkout(
    ctx: typer.Context,
    ref: str | None = typer.Argument(
        None, help="NAME@VERSION; without it, restore every dataset to what its pointer says."
    ),
    to: Path | None = typer.Option(None, "--to", help="Folder to write the version into."),
    link: str = typer.Option(
        "copy", "--link", help="copy (default, reflinks where possible), hardlink or symlink."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Overwrite or delete files whose content no version holds (else: stop, list them).",
    ),
) -> None:
    """Materialise a dataset version atomically (files that already match are kept).

    Files whose content no version holds (edits, untracked files in the way) stop the checkout
    before anything changes; untracked files elsewhere in the folder are kept. --force
    replaces them and lists what it replaced.
    """
    from tether.data import LINK_MODES, checkout_pointers
    from tether.data import checkout as checkout_version
    from tether.errors import InvalidInput

    if link not in LINK_MODES:
        raise InvalidInput(f"--link {link!r} must be one of {', '.join(LINK_MODES)}")
    repo = _repo(ctx)
    if ref is None:
        if to is not None:
            raise InvalidInput("--to needs NAME@VERSION; without it, pointers name the folders")
        with progress_bar("checking out", None, unit_bytes=True) as advance:
            done = checkout_pointers(repo, link=link, force=force, progress=advance)
        if not done:
            typer.echo("no datasets tracked here (no .tether pointer files)")
        for d in done:
            where = d.pointer.data_path.relative_to(repo.workspace.root)
            if d.report is None:
                typer.echo(f"{where}: up to date ({d.pointer.name}@{d.pointer.version})")
            else:
                r = d.report
                typer.echo(
                    f"{where}: {d.pointer.name}@{d.pointer.version} ({r.written} written, "
                    f"{r.kept} kept, {r.removed} removed)"
                )
                _replaced(r)
        return
    with progress_bar(f"checking out {ref}", None, unit_bytes=True) as advance:
        r = checkout_version(repo, ref, to=to, link=link, force=force, progress=advance)
    typer.echo(f"{ref} -> {r.dest} ({r.written} written, {r.kept} kept, {r.removed} removed)")
    _replaced(r)


def _replaced(report: CheckoutReport) -> None:
    for path in report.replaced:
        typer.echo(f"  replaced (in no version): {path}")
    if report.untracked:
        typer.echo(f"  kept {report.untracked} untracked file(s) (--force removes them)")
