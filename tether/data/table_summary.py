"""Per-column summaries of a table (Parquet or CSV), and the comparison of two summaries.

A :class:`TableSummary` is what a table diff shows and what drift monitoring compares: the row
count, and for each column its type, null count, min/max/mean for numbers, min/max for dates and
times, and the most frequent values for strings, categories and booleans. Tables are read in
record batches with pyarrow compute kernels, so memory stays bounded by one batch plus the
value counts of the categorical columns (capped at :data:`MAX_TRACKED_VALUES` per column, after
which the top values are marked approximate). pyarrow is imported inside the functions that
need it, so importing this module costs nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal

from tether.data.errors import UnreadableTable
from tether.errors import InvalidInput, MissingDependency

if TYPE_CHECKING:
    import pyarrow as pa

TableFormat = Literal["parquet", "csv"]
ColumnKind = Literal["numeric", "temporal", "categorical", "other"]

TOP_K = 5
BATCH_ROWS = 256 * 1024
MAX_TRACKED_VALUES = 200_000
"""Distinct values tracked per categorical column; beyond it the top values are approximate."""

_EXTENSIONS: dict[str, TableFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".csv.bz2": "csv",
}


def table_format(path: str) -> TableFormat | None:
    """The table format a file name implies by its extension (case-insensitive), or None."""
    lower = path.lower()
    for ext, fmt in _EXTENSIONS.items():
        if lower.endswith(ext):
            return fmt
    return None


@dataclass(frozen=True)
class ColumnSummary:
    """One column: ``min``/``max``/``mean`` are None where they do not apply or all are null.

    ``top`` lists up to ``TOP_K`` (value, count) pairs, most frequent first (ties by value);
    ``distinct`` is the exact number of distinct non-null values, or None when it is not known
    (non-categorical columns, or more than ``MAX_TRACKED_VALUES`` values, where ``top_exact``
    is False and the counts are lower bounds).
    """

    name: str
    type: str
    kind: ColumnKind
    null_count: int
    nan_count: int = 0
    min: Any = None
    max: Any = None
    mean: float | None = None
    top: tuple[tuple[Any, int], ...] = ()
    distinct: int | None = None
    top_exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "kind": self.kind,
            "null_count": self.null_count,
            "nan_count": self.nan_count,
            "min": json_value(self.min),
            "max": json_value(self.max),
            "mean": json_value(self.mean),
            "top": [{"value": json_value(v), "count": c} for v, c in self.top],
            "distinct": self.distinct,
            "top_exact": self.top_exact,
        }


@dataclass(frozen=True)
class TableSummary:
    format: TableFormat
    num_rows: int
    columns: tuple[ColumnSummary, ...]

    def column(self, name: str) -> ColumnSummary | None:
        return next((c for c in self.columns if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "num_rows": self.num_rows,
            "columns": [c.to_dict() for c in self.columns],
        }


def json_value(value: Any) -> Any:
    """A JSON-safe form of a summary value: dates as ISO text, non-finite floats as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    return value


# -- summarising ---------------------------------------------------------------------------


def _kind(t: pa.DataType) -> ColumnKind:
    import pyarrow as pa

    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_temporal(t) and not pa.types.is_duration(t) and not pa.types.is_interval(t):
        return "temporal"
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or getattr(pa.types, "is_string_view", lambda _: False)(t)
        or pa.types.is_boolean(t)
        or pa.types.is_dictionary(t)
    ):
        return "categorical"
    return "other"


class _ColumnAccumulator:
    """Folds the record batches of one column into a :class:`ColumnSummary`."""

    def __init__(self, name: str, type: pa.DataType, top_k: int, max_tracked: int) -> None:
        self.name = name
        self.type = type
        self.kind = _kind(type)
        self.top_k = top_k
        self.max_tracked = max_tracked
        self.nulls = 0
        self.nans = 0
        self.min: Any = None
        self.max: Any = None
        self.total = 0.0
        self.count = 0
        self.counts: pa.Table | None = None
        self.exact = True

    def add(self, arr: pa.Array) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.nulls += arr.null_count
        if self.kind == "other" or len(arr) == arr.null_count:
            return
        if self.kind == "categorical":
            self._add_counts(arr)
            return
        if pa.types.is_floating(arr.type):
            is_nan = pc.is_nan(arr)
            nans = pc.sum(is_nan).as_py() or 0
            if nans:
                self.nans += nans
                arr = arr.filter(pc.invert(is_nan))
                if len(arr) == arr.null_count:
                    return
        mm = pc.min_max(arr)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        if lo is not None:
            self.min = lo if self.min is None else min(self.min, lo)
            self.max = hi if self.max is None else max(self.max, hi)
        if self.kind == "numeric":
            self.total += pc.sum(arr.cast(pa.float64())).as_py() or 0.0
            self.count += len(arr) - arr.null_count

    def _add_counts(self, arr: pa.Array) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        vc = pc.value_counts(arr.drop_null())
        batch = pa.table({"value": vc.field("values"), "count": vc.field("counts")})
        if self.counts is not None:
            merged = pa.concat_tables([self.counts, batch])
            batch = merged.group_by("value").aggregate([("count", "sum")])
            batch = batch.rename_columns(["value", "count"])
        if batch.num_rows > self.max_tracked:
            self.exact = False
            keep = pc.sort_indices(batch, [("count", "descending")])[: self.max_tracked // 2]
            batch = batch.take(keep)
        self.counts = batch

    def result(self) -> ColumnSummary:
        import pyarrow.compute as pc

        top: tuple[tuple[Any, int], ...] = ()
        distinct: int | None = None
        if self.counts is not None:
            order = pc.sort_indices(self.counts, [("count", "descending"), ("value", "ascending")])
            best = self.counts.take(order[: self.top_k])
            top = tuple(zip(best["value"].to_pylist(), best["count"].to_pylist(), strict=True))
            distinct = self.counts.num_rows if self.exact else None
        elif self.kind == "categorical":
            distinct = 0
        return ColumnSummary(
            name=self.name,
            type=str(self.type),
            kind=self.kind,
            null_count=self.nulls,
            nan_count=self.nans,
            min=self.min,
            max=self.max,
            mean=self.total / self.count if self.count else None,
            top=top,
            distinct=distinct,
            top_exact=self.exact,
        )


Source = str | os.PathLike[str] | IO[bytes]


def _describe(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def summarize_table(
    source: Source,
    format: TableFormat,
    *,
    top_k: int = TOP_K,
    batch_rows: int = BATCH_ROWS,
    max_tracked_values: int = MAX_TRACKED_VALUES,
) -> TableSummary:
    """Summarise a Parquet or CSV table from a path or a binary file object, batch by batch.

    Raises :class:`UnreadableTable` when the bytes are not a readable table of that format and
    :class:`MissingDependency` when pyarrow is not installed.
    """
    if format not in ("parquet", "csv"):
        raise InvalidInput(f"table format {format!r} is not supported; use 'parquet' or 'csv'")
    try:
        import pyarrow as pa
    except ImportError:
        raise MissingDependency("summarising tables", "pandas", "pyarrow") from None
    what = _describe(source)
    try:
        if format == "parquet":
            return _summarize(
                _parquet_batches(source, batch_rows), format, top_k, max_tracked_values
            )
        try:
            return _summarize(_csv_batches(source, None), format, top_k, max_tracked_values)
        except pa.ArrowInvalid as first:
            # pyarrow infers CSV column types from the first block; a later block that does not
            # fit them fails. Re-read with one block covering the whole file when we can.
            size = _file_size(source)
            if size is None:
                raise UnreadableTable(what, format, str(first)) from None
            batches = _csv_batches(source, max(size + 1, 1 << 20))
            return _summarize(batches, format, top_k, max_tracked_values)
    except (pa.ArrowException, OSError, ValueError, EOFError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UnreadableTable(what, format, reason) from None


def _file_size(source: Source) -> int | None:
    """The size of a path or a seekable stream (rewound to its start), else None."""
    if isinstance(source, str | os.PathLike):
        return os.path.getsize(source)
    if not source.seekable():
        return None
    end = source.seek(0, os.SEEK_END)
    source.seek(0)
    return end


Batches = tuple["pa.Schema", Callable[[], Any]]


def _parquet_batches(source: Source, batch_rows: int) -> Batches:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source)
    return pf.schema_arrow, lambda: pf.iter_batches(batch_size=batch_rows)


def _csv_batches(source: Source, block_size: int | None) -> Batches:
    import pyarrow.csv as pv

    read = pv.ReadOptions(block_size=block_size) if block_size else pv.ReadOptions()
    convert = pv.ConvertOptions(strings_can_be_null=True)
    reader = pv.open_csv(source, read_options=read, convert_options=convert)
    return reader.schema, lambda: reader


def _summarize(batches: Batches, format: TableFormat, top_k: int, max_tracked: int) -> TableSummary:
    schema, iterate = batches
    accs = [_ColumnAccumulator(f.name, f.type, top_k, max_tracked) for f in schema]
    rows = 0
    for batch in iterate():
        rows += batch.num_rows
        for acc, column in zip(accs, batch.columns, strict=True):
            acc.add(column)
    return TableSummary(format, rows, tuple(acc.result() for acc in accs))


# -- comparing -----------------------------------------------------------------------------

COMPARED_FIELDS = ("type", "null_count", "nan_count", "min", "max", "mean", "top", "distinct")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return bool(a == b)


@dataclass(frozen=True)
class ColumnDiff:
    """One column of two tables; ``old``/``new`` is None where the column is absent."""

    name: str
    old: ColumnSummary | None
    new: ColumnSummary | None
    changed: tuple[str, ...] = ()

    @property
    def status(self) -> Literal["added", "removed", "changed", "unchanged"]:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed" if self.changed else "unchanged"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "changed": list(self.changed),
            "old": self.old.to_dict() if self.old else None,
            "new": self.new.to_dict() if self.new else None,
        }


@dataclass(frozen=True)
class TableDiff:
    """Two table summaries compared: schema changes, row counts, per-column changes."""

    old: TableSummary
    new: TableSummary
    columns: tuple[ColumnDiff, ...]
    path_a: str = ""
    path_b: str = ""
    type_changes: tuple[tuple[str, str, str], ...] = ()

    @property
    def rows_delta(self) -> int:
        return self.new.num_rows - self.old.num_rows

    @property
    def columns_added(self) -> tuple[ColumnSummary, ...]:
        return tuple(c.new for c in self.columns if c.old is None and c.new is not None)

    @property
    def columns_removed(self) -> tuple[ColumnSummary, ...]:
        return tuple(c.old for c in self.columns if c.new is None and c.old is not None)

    @property
    def schema_changed(self) -> bool:
        return bool(self.columns_added or self.columns_removed or self.type_changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path_a": self.path_a,
            "path_b": self.path_b,
            "format_a": self.old.format,
            "format_b": self.new.format,
            "rows": {
                "old": self.old.num_rows,
                "new": self.new.num_rows,
                "delta": self.rows_delta,
            },
            "schema": {
                "added": [{"name": c.name, "type": c.type} for c in self.columns_added],
                "removed": [{"name": c.name, "type": c.type} for c in self.columns_removed],
                "type_changed": [{"name": n, "old": o, "new": t} for n, o, t in self.type_changes],
            },
            "columns": [c.to_dict() for c in self.columns],
        }


def compare_summaries(
    old: TableSummary, new: TableSummary, *, path_a: str = "", path_b: str = ""
) -> TableDiff:
    """Column by name: old columns in their order, then the columns only ``new`` has."""
    new_by_name = {c.name: c for c in new.columns}
    old_names = {c.name for c in old.columns}
    columns: list[ColumnDiff] = []
    type_changes: list[tuple[str, str, str]] = []
    for o in old.columns:
        n = new_by_name.get(o.name)
        if n is None:
            columns.append(ColumnDiff(o.name, o, None))
            continue
        changed = tuple(f for f in COMPARED_FIELDS if not _same(getattr(o, f), getattr(n, f)))
        if "type" in changed:
            type_changes.append((o.name, o.type, n.type))
        columns.append(ColumnDiff(o.name, o, n, changed))
    columns.extend(ColumnDiff(n.name, None, n) for n in new.columns if n.name not in old_names)
    return TableDiff(old, new, tuple(columns), path_a, path_b, tuple(type_changes))
