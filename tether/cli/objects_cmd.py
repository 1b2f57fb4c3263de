from __future__ import annotations

from pathlib import Path

import typer

from tether.cli.context import get
from tether.cli.progress import progress_bar

app = typer.Typer(help="Content-addressed objects: put, get, verify, repair.", no_args_is_help=True)


@app.command("put")
def put(ctx: typer.Context, path: Path) -> None:
    """Store a file or a folder; print its digest (a folder's is the digest of its tree)."""
    from tether.store import ObjectRecord

    cli = get(ctx)
    objects = cli.objects()
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        with progress_bar(f"storing {path}", len(files), unit_bytes=False) as advance:
            tree = objects.put_tree(path, progress=advance)
        cli.store().record_objects([ObjectRecord(tree.digest, tree.size, "tree")])
        typer.echo(f"{tree.digest}  {path}/ ({tree.count} files, {tree.size} bytes)")
    elif path.is_file():
        with progress_bar(f"storing {path}", path.stat().st_size, unit_bytes=True) as advance:
            info = objects.put_file(path, progress=advance)
        cli.store().record_objects([ObjectRecord(info.digest, info.size, "blob")])
        typer.echo(f"{info.digest}  {path} ({info.size} bytes)")
    else:
        from tether.errors import InvalidInput

        raise InvalidInput(f"no file or folder at {path}; check the path")


@app.command("get")
def get_object(
    ctx: typer.Context,
    digest: str,
    dest: Path,
    tree: bool = typer.Option(False, "--tree", help="DIGEST names a tree: restore a folder."),
) -> None:
    """Write an object to DEST (a file, or a folder with --tree), verifying its digest."""
    objects = get(ctx).objects()
    if tree:
        objects.get_tree(digest, dest)
    else:
        objects.get_file(digest, dest)
    typer.echo(f"{digest} -> {dest}")


@app.command("verify")
def verify(
    ctx: typer.Context,
    digests: list[str] = typer.Argument(None, help="Digests to check (default: every object)."),
) -> None:
    """Re-hash stored objects; exit non-zero and name each damaged object and pack.

    In a local store every copy is checked, loose and packed; a pack whose index is
    unreadable or whose file is missing or cut short is named. The damaged copies are noted,
    so that `tether data add` stores those objects again; `tether objects repair` drops them.
    """
    from tether.errors import IntegrityError
    from tether.objects.errors import REPAIR_HINT

    objects = get(ctx).objects()
    if digests:
        for d in digests:
            objects.verify(d)
        typer.echo(f"{len(digests)} objects ok")
        return
    with progress_bar("verifying", None, unit_bytes=False) as advance:
        report = objects.verify_all(progress=advance)
    for path, reason in sorted(report.packs.items()):
        typer.echo(f"damaged pack: {path} ({reason})")
    for d in report.corrupt:
        typer.echo(f"corrupt: {d}")
    for d in report.lost:
        typer.echo(f"lost: {d}")
    if not report.clean:
        parts = [
            f"{n} {what}"
            for n, what in (
                (len(report.corrupt), "corrupted objects"),
                (len(report.lost), "objects lost in damaged packs"),
                (len(report.packs), "damaged packs"),
            )
            if n
        ]
        first = [*report.corrupt, *report.lost, *sorted(report.packs)][0]
        raise IntegrityError(f"{', '.join(parts)} in {objects.url} (first: {first}); {REPAIR_HINT}")
    typer.echo(f"{report.ok} objects ok")


@app.command("repair")
def repair(ctx: typer.Context) -> None:
    """Drop damaged objects and packs, so that `tether data add` or `tether data pull` stores
    them again.

    Removes loose objects whose bytes no longer match their digest, rewrites packs without
    their damaged objects (or removes a pack whose index is unreadable), and removes the
    temporary files of killed writers. Intact objects are kept.
    """
    objects = get(ctx).objects()
    with progress_bar("checking", None, unit_bytes=False) as advance:
        report = objects.repair(progress=advance)
    for path in report.packs:
        typer.echo(f"repaired pack: {path}")
    for d in report.dropped:
        typer.echo(f"dropped: {d}")
    if report.temporaries:
        typer.echo(f"removed {report.temporaries} temporary files of killed writers")
    if report.dropped or report.packs:
        typer.echo(
            f"dropped {len(report.dropped)} damaged objects; run `tether data add` or "
            "`tether data pull` to store them again"
        )
    else:
        typer.echo("nothing to repair")


@app.command("ls")
def ls(ctx: typer.Context) -> None:
    """List every stored digest."""
    for digest in get(ctx).objects().list():
        typer.echo(digest)


@app.command("show")
def show(ctx: typer.Context, digest: str) -> None:
    """Print the entries of a tree object."""
    for entry in get(ctx).objects().read_tree(digest).entries:
        typer.echo(f"{entry.digest}  {oct(entry.mode)[2:]}  {entry.size:>12}  {entry.path}")
