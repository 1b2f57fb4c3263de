"""``tether data diff``: what changed between two dataset versions (``A B``), between a version
and the files on disk (``A`` alone), or since a git revision (``--rev REV [NAME]``).

``--json`` prints one document (``DatasetDiff.to_dict``); with ``--rev``, a list of them::

    {
      "a": {"dataset", "version", "tree_digest", "files", "size", "created_at", "message"},
      "b": {... the same for the new version ...},
      "summary": {"added", "removed", "modified", "unchanged",          # file counts
                  "added_size", "removed_size", "modified_delta", "size_delta"},  # bytes
      "added":    [{"path", "size", "digest"}, ...],                     # every file, by path
      "removed":  [{"path", "size", "digest"}, ...],
      "modified": [{"path", "old_size", "new_size", "delta", "old_digest", "new_digest"}, ...],
      "tables": [{
        "path_a", "path_b", "format_a", "format_b",
        "rows": {"old", "new", "delta"},
        "schema": {"added": [{"name", "type"}], "removed": [{"name", "type"}],
                   "type_changed": [{"name", "old", "new"}]},
        "columns": [{"name", "status": "added|removed|changed|unchanged",
                     "changed": ["null_count", "mean", ...],
                     "old": COLUMN or null, "new": COLUMN or null}]
      }],
      "tables_skipped": 0,                                 # modified tables not summarised
      "tables_unavailable": null          # or why none was: the extra to install (no pyarrow)
    }

Against the workspace, "b" describes the files on disk: "version" and "created_at" are null
and "path" is the data's path in the workspace.

    COLUMN = {"name", "type", "kind": "numeric|temporal|categorical|other", "null_count",
              "nan_count", "min", "max", "mean", "top": [{"value", "count"}], "distinct",
              "top_exact"}

Dates and times are ISO strings; NaN and infinities are the strings "nan", "inf", "-inf".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.context import get

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from tether.data.diff import DatasetDiff
    from tether.data.table_summary import ColumnDiff, ColumnSummary, TableDiff

LIST_LIMIT = 50


def diff(
    ctx: typer.Context,
    a: str | None = typer.Argument(
        None, metavar="[NAME@A]", help="The old version (NAME: the latest, or its pointer's)."
    ),
    b: str | None = typer.Argument(
        None, metavar="[NAME@B]", help="The new version; without it, the files on disk."
    ),
    rev: str | None = typer.Option(
        None,
        "--rev",
        help="A git revision: compare the versions the pointer files named there with the "
        "ones they name now (NAME@A: just that dataset).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the diff as one JSON document."),
    tables: bool = typer.Option(
        True, "--tables/--no-tables", help="Summarise and compare changed Parquet/CSV tables."
    ),
    limit: int = typer.Option(
        LIST_LIMIT, "--limit", "-n", min=1, help="Files listed per section (the rest counted)."
    ),
) -> None:
    """Show files added, removed and modified, and table changes.

    `tether data diff images@1 images@2` compares two versions; `tether data diff images@2`
    compares a version with the files on disk (`images`: the version its pointer names);
    `tether data diff --rev HEAD~1` compares, for every pointer file, the version it named at
    that git revision with the one it names now.
    """
    from tether.data.diff import diff_versions
    from tether.data.diff_workspace import diff_revision, diff_workspace

    cli = get(ctx)
    if rev is not None:
        if b is not None:
            raise typer.BadParameter("with --rev, give at most one dataset NAME")
        results = diff_revision(cli.data_repo(), rev, a, tables=tables)
        if as_json:
            typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
            return
        if not results:
            typer.echo(f"no pointer file here existed at {rev}")
        for result in results:
            _print(result, limit)
        return
    if a is None:
        raise typer.BadParameter("give NAME@A [NAME@B], or --rev REV")
    if b is None:
        result = diff_workspace(cli.data_repo(), a, tables=tables)
    else:
        store, project = cli.store(), cli.settings().project
        result = diff_versions(store, cli.objects(), project, a, b, tables=tables)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    _print(result, limit)


def _print(result: DatasetDiff, limit: int) -> None:
    from tether.cli.output import console

    render(console(), result, limit)


# -- rendering -----------------------------------------------------------------------------


def _size(n: int) -> str:
    from tether.data.errors import format_size

    return format_size(n)


def _signed(n: int) -> str:
    return ("+" if n >= 0 else "-") + _size(abs(n))


def render(console: Console, d: DatasetDiff, limit: int = LIST_LIMIT) -> None:
    """Print a diff for people: a summary line, file lists, then each table's changes."""
    from rich.table import Table
    from rich.text import Text

    from tether.data.diff import format_ref

    f = d.files
    title = Text(f"{format_ref(d.a)} -> {format_ref(d.b)}", style="bold")
    console.print(title)
    if f.is_empty:
        console.print(f"no differences ({d.b.file_count} files, {_size(d.b.total_size)})")
    else:
        console.print(
            f"{len(f.added)} added (+{_size(f.added_size)}), "
            f"{len(f.removed)} removed (-{_size(f.removed_size)}), "
            f"{len(f.modified)} modified ({_signed(f.modified_delta)}), "
            f"{f.unchanged} unchanged; "
            f"total {_size(d.a.total_size)} -> {_size(d.b.total_size)} ({_signed(f.size_delta)})"
        )

    def section(name: str, style: str, rows: list[tuple[Text, ...]], headers: list[str]) -> None:
        if not rows:
            return
        table = Table(box=None, title=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column(headers[0], overflow="fold")
        for h in headers[1:]:
            table.add_column(h, justify="right", no_wrap=True)
        for row in rows[:limit]:
            table.add_row(*row)
        console.print()
        console.print(Text(f"{name} ({len(rows)})", style=f"bold {style}"))
        console.print(table)
        if len(rows) > limit:
            console.print(Text(f"... and {len(rows) - limit} more {name} files", style="dim"))

    section(
        "added",
        "green",
        [(Text("+ " + e.path, style="green"), Text(_size(e.size))) for e in f.added],
        ["path", "size"],
    )
    section(
        "removed",
        "red",
        [(Text("- " + e.path, style="red"), Text(_size(e.size))) for e in f.removed],
        ["path", "size"],
    )
    section(
        "modified",
        "yellow",
        [
            (
                Text("~ " + m.path, style="yellow"),
                Text(_size(m.old.size)),
                Text(_size(m.new.size)),
                Text(_signed(m.delta)),
            )
            for m in f.modified
        ],
        ["path", "old size", "new size", "delta"],
    )
    for t in d.tables:
        _render_table(console, t)
    if d.tables_unavailable:
        console.print(
            Text(f"{d.tables_skipped} modified tables not summarised: {d.tables_unavailable}")
        )
    elif d.tables_skipped:
        console.print(
            Text(
                f"{d.tables_skipped} more modified tables not summarised "
                "(use the Python API's max_tables to include them)",
                style="dim",
            )
        )


def _value(v: Any) -> str:
    from tether.data.table_summary import json_value

    v = json_value(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)


def _top(c: ColumnSummary) -> str:
    if not c.top:
        return ""
    text = ", ".join(f"{_value(v)}:{n}" for v, n in c.top)
    return text if c.top_exact else text + " (approx.)"


def _nulls(c: ColumnSummary) -> str:
    return f"{c.null_count} (+{c.nan_count} NaN)" if c.nan_count else str(c.null_count)


_CELLS: list[tuple[str, str, Any]] = [
    ("type", "type", lambda c: c.type),
    ("nulls", "null_count", lambda c: _nulls(c)),
    ("min", "min", lambda c: _value(c.min)),
    ("max", "max", lambda c: _value(c.max)),
    ("mean", "mean", lambda c: _value(c.mean)),
    ("top values", "top", _top),
]


def _cell(col: ColumnDiff, field: str, get_text: Any) -> Text:
    from rich.text import Text

    if col.old is None:
        assert col.new is not None
        return Text(get_text(col.new), style="green")
    if col.new is None:
        return Text(get_text(col.old), style="red")
    old, new = get_text(col.old), get_text(col.new)
    changed = field in col.changed or (field == "null_count" and "nan_count" in col.changed)
    if not changed or old == new:
        return Text(new, style="dim" if not col.changed else "")
    return Text(f"{old} -> {new}", style="bold yellow")


def _render_table(console: Console, t: TableDiff) -> None:
    from rich.table import Table
    from rich.text import Text

    name = t.path_b if t.path_a == t.path_b else f"{t.path_a} -> {t.path_b}"
    console.print()
    console.print(Text(f"table {name}", style="bold"))
    rows = Text(f"rows: {t.old.num_rows:,} -> {t.new.num_rows:,} ({t.rows_delta:+,})")
    if t.rows_delta:
        rows.stylize("yellow")
    console.print(rows)
    if t.schema_changed:
        console.print(Text("schema:", style="bold"))
        for c in t.columns_added:
            console.print(Text(f"  + {c.name} ({c.type})", style="green"))
        for c in t.columns_removed:
            console.print(Text(f"  - {c.name} ({c.type})", style="red"))
        for n, old, new in t.type_changes:
            console.print(Text(f"  ~ {n}: {old} -> {new}", style="yellow"))
    else:
        console.print(Text("schema: unchanged", style="dim"))
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("column", overflow="fold")
    for header, _, _ in _CELLS:
        table.add_column(header, overflow="fold")
    marks = {"added": "+ ", "removed": "- ", "changed": "~ ", "unchanged": "  "}
    styles = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}
    for col in t.columns:
        label = Text(marks[col.status] + col.name, style=styles[col.status])
        table.add_row(label, *(_cell(col, field, fn) for _, field, fn in _CELLS))
    console.print(table)
