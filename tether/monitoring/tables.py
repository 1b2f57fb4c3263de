"""The tables drift() compares: a DataFrame, an Arrow table, a Parquet or CSV path, or a
dataset reference, each read as a stream of record batches (Parquet is never loaded whole)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.errors import MissingDependency, NotFound
from tether.monitoring.errors import UnreadableTable
from tether.monitoring.issues import Issue

BATCH_ROWS = 131_072  # rows per record batch of an in-memory table
CELLS_PER_READ = 8_000_000  # values read from Parquet at once: about 64 MB of float64


@dataclass
class Table:
    """A readable table: its schema, its row count, and its record batches on demand."""

    label: str  # what the user passed, for messages and reports
    schema: Any  # pyarrow.Schema
    num_rows: int
    _table: Any = None  # an in-memory pyarrow.Table, or
    _parquet: Path | None = None  # a Parquet file read batch by batch
    dataset_key: str | None = None  # the dataset version's tree digest, when one was named
    issues: list[Issue] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.schema.names)

    def read_all(self) -> Any:
        """The whole table as one ``pyarrow.Table`` (for the small tables that need it)."""
        if self._parquet is None:
            return self._table
        import pyarrow.parquet as pq

        return pq.read_table(self._parquet)

    def batches(self, columns: list[str]) -> Iterator[tuple[list[str], list[Any]]]:
        """Pieces of the table: some of ``columns`` (names) and a slice of their rows (Arrow
        arrays). Parquet is read a row group at a time, and a large row group a few columns at
        a time, so that no more than about CELLS_PER_READ values are in memory at once: reading
        whole row groups keeps the peak far lower than ``iter_batches`` does."""
        if self._parquet is None:
            for batch in self._table.select(columns).to_batches(max_chunksize=BATCH_ROWS):
                yield columns, list(batch.columns)
            return
        import pyarrow.parquet as pq

        with pq.ParquetFile(self._parquet) as f:
            for i in range(f.metadata.num_row_groups):
                rows = max(f.metadata.row_group(i).num_rows, 1)
                step = max(1, CELLS_PER_READ // rows)
                for k in range(0, len(columns), step):
                    names = columns[k : k + step]
                    part = f.read_row_group(i, columns=names)
                    yield (
                        names,
                        [
                            c.combine_chunks() if c.num_chunks != 1 else c.chunk(0)
                            for c in part.columns
                        ],
                    )


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise MissingDependency("drift detection", "monitor", "pyarrow") from None
    return pyarrow


def _from_pandas(df: Any, label: str) -> Table:
    """A DataFrame as Arrow; a column of mixed Python types becomes text, reported as an issue
    rather than failing the whole comparison."""
    pa = _pyarrow()
    arrays, names, issues = [], [], []
    for name in df.columns:
        series = df[name]
        try:
            arr = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arr = pa.array(
                [None if _isna(v) else str(v) for v in series.tolist()], type=pa.string()
            )
            issues.append(
                Issue(str(name), "mixed_types", f"values of several types in {label}; read as text")
            )
        arrays.append(arr)
        names.append(str(name))
    table = pa.table(arrays, names=names) if names else pa.table({})
    return Table(label, table.schema, table.num_rows, _table=table, issues=issues)


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _from_path(path: Path, label: str) -> Table:
    pa = _pyarrow()
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            with pq.ParquetFile(path) as f:
                schema = f.schema_arrow
                rows = f.metadata.num_rows
            return Table(label, schema, rows, _parquet=path)
        if name.endswith(".csv"):
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(path)
            return Table(label, table.schema, table.num_rows, _table=table)
    except (pa.ArrowException, OSError) as e:
        raise UnreadableTable(label, f"{path}: {e}") from None
    raise UnreadableTable(label, f"{path} is not a .parquet or .csv file")


def _from_dataset(ref: str, label: str, workspace: Any) -> Table:
    from tether.data.table import table_file
    from tether.tracking.datasets import dataset

    handle = dataset(ref, workspace=workspace)
    entry = table_file(handle.ref, handle.files())
    table = _from_path(handle.path() / entry.path, f"{label} {handle.ref}")
    table.dataset_key = handle.tree_digest
    return table


def is_dataset_ref(obj: Any) -> bool:
    """Whether ``obj`` names a dataset version (``name``, ``name@3``) rather than a file."""
    if not isinstance(obj, str) or Path(obj).is_file():
        return False
    return not Path(obj).suffix and os.sep not in obj


def read_table(obj: Any, label: str, workspace: Any = None) -> Table:
    """``obj`` as a :class:`Table`; UnreadableTable when it is none of the accepted kinds.
    A dataset reference is resolved in ``workspace`` (default: the one found from here)."""
    if isinstance(obj, Table):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        if path.is_file():
            return _from_path(path, label)
        if isinstance(obj, str) and is_dataset_ref(obj):
            try:
                return _from_dataset(obj, label, workspace)
            except NotFound as e:
                raise UnreadableTable(label, str(e)) from None
        raise UnreadableTable(label, f"no file {obj}")
    module = type(obj).__module__.split(".")[0]
    if module == "pandas" and hasattr(obj, "columns"):
        return _from_pandas(obj, label)
    if module == "pyarrow":
        pa = _pyarrow()
        if isinstance(obj, pa.RecordBatch):
            obj = pa.Table.from_batches([obj])
        if isinstance(obj, pa.Table):
            return Table(label, obj.schema, obj.num_rows, _table=obj)
    raise UnreadableTable(label, f"got a {type(obj).__name__}")
