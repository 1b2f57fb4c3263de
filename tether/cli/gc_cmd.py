"""``tether gc``: remove the objects nothing refers to, and compact packs."""

from __future__ import annotations

import json
import re

import typer

from tether.cli.context import get
from tether.cli.progress import progress_bar

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")


def parse_grace(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``1h``, ``2d`` as seconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not a duration; write a number of seconds or one with a unit, "
            "such as 0, 90s, 30m, 1h or 2d"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def _size(n: int) -> str:
    from tether.data.errors import format_size

    return format_size(n)


def gc(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", "-n", help="List what would be removed; change nothing."
    ),
    grace: str = typer.Option(
        "1h",
        "--grace",
        help="Keep unreferenced objects written less than this long ago (0, 90s, 30m, 1h, 2d): "
        "runs and pipeline steps record their objects after storing them.",
    ),
    pack_threshold: float = typer.Option(
        0.5,
        "--pack-threshold",
        min=0.0,
        max=1.0,
        help="Rewrite a pack when less than this fraction of its bytes is still referenced.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Remove the objects that nothing refers to, and compact mostly unreferenced packs.

    Kept: the versions of datasets that are not deleted (their trees and files), the inputs
    and outputs of runs that are not deleted, their captured diffs and package lists, step
    outputs and logs (the pipeline cache), and model versions. Deleting a dataset or a run
    (`tether data rm`, `tether runs rm`) and then collecting frees what only it used.
    Safe while `tether data add` or `tether data pull` run in other processes.
    """
    from dataclasses import asdict

    from tether.objects.gc import collect

    seconds = parse_grace(grace)
    cli = get(ctx)
    objects, store = cli.objects(), cli.store()
    with progress_bar("collecting" if not dry_run else "looking", None, unit_bytes=False) as step:
        report = collect(
            objects,
            store,
            grace_s=seconds,
            dry_run=dry_run,
            pack_threshold=pack_threshold,
            progress=step,
        )
    if as_json:
        doc = asdict(report)
        doc["removed_objects"] = [{"digest": d, "size": n} for d, n in report.removed_objects]
        typer.echo(json.dumps(doc, indent=2))
        return
    from rich.table import Table

    from tether.cli.output import console

    verb = "would remove" if dry_run else "removed"
    if dry_run:
        for digest, size in report.removed_objects:
            typer.echo(f"{verb} {digest} ({_size(size)})")
    table = Table("objects", "count", "bytes", box=None)
    table.add_row("referenced (kept)", str(report.kept), _size(report.kept_bytes))
    table.add_row("unreferenced, within grace (kept)", str(report.young), _size(report.young_bytes))
    if report.left_in_packs:
        table.add_row(
            "unreferenced, in mostly referenced packs (kept)",
            str(report.left_in_packs),
            _size(report.left_in_packs_bytes),
        )
    table.add_row(verb, str(report.removed), _size(report.removed_bytes))
    console(wide=True).print(table)
    packs = "would be" if dry_run else "were"
    typer.echo(
        f"{report.packs_compacted} packs {packs} compacted and {report.packs_removed} removed; "
        f"{_size(report.freed_bytes)} {'would be ' if dry_run else ''}freed"
    )
    if report.absent:
        typer.echo(f"{report.absent} referenced objects are not stored here (on a remote only)")
    if report.temporaries:
        typer.echo(f"removed {report.temporaries} temporary files of killed writers")
