"""Reading a single-table dataset (one Parquet or CSV file) with pyarrow or pandas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tether.data.errors import NotATable
from tether.errors import MissingDependency
from tether.objects.tree import TreeEntry

PARQUET = (".parquet", ".pq")
CSV = (".csv",)


def table_file(ref: str, entries: list[TreeEntry]) -> TreeEntry:
    """The one table file of a dataset; NotATable otherwise."""
    if len(entries) != 1:
        raise NotATable(ref, f"it has {len(entries)} files, not one")
    entry = entries[0]
    if not entry.path.lower().endswith(PARQUET + CSV):
        raise NotATable(ref, f"{entry.path} is not a .parquet or .csv file")
    return entry


def read_arrow(path: Path) -> Any:
    """The file as a ``pyarrow.Table``."""
    try:
        if path.name.lower().endswith(PARQUET):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.csv as pcsv

        return pcsv.read_csv(path)
    except ImportError:
        raise MissingDependency("reading tables", "pandas", "pyarrow") from None


def read_pandas(path: Path) -> Any:
    """The file as a ``pandas.DataFrame``."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise MissingDependency("to_pandas", "pandas", "pandas") from None
    return read_arrow(path).to_pandas()
