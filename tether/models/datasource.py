"""The ``data`` argument of evaluations and gates: a DataFrame, a Parquet path, or a reference.

A string that is not an existing path goes to the ``resolver`` the caller passes (the registry
passes one that turns ``"churn@4"`` into that dataset version's table and records the read);
without one, it is an error that says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.models.errors import DataNotFound, InvalidData

if TYPE_CHECKING:
    import pandas as pd

DataResolver = Callable[[str], Any]  # reference -> DataFrame or Parquet path
Data = Any  # pd.DataFrame | str | os.PathLike[str]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    source: str  # the path, the reference, or "<DataFrame>"


def load_table(data: Data, *, resolver: DataResolver | None = None) -> Table:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return Table(data, "<DataFrame>")
    if not isinstance(data, str | os.PathLike):
        raise InvalidData(
            f"data must be a pandas DataFrame, a Parquet path or a dataset reference, "
            f"not {type(data).__name__}"
        )
    path = Path(data)
    if path.exists():
        return Table(_read_parquet(path), str(path))
    if isinstance(data, str) and resolver is not None:
        resolved = resolver(data)
        table = load_table(resolved)
        return Table(table.frame, data)
    if isinstance(data, str) and "@" in data and os.sep not in data:
        raise InvalidData(
            f"data {data!r} looks like a dataset reference; evaluating a dataset version needs "
            "the registry (pass resolver=), or pass a DataFrame or a Parquet path"
        )
    raise DataNotFound(
        f"data file {str(path)!r} does not exist; pass a Parquet path or a DataFrame"
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        from tether.errors import MissingDependency

        raise MissingDependency("reading Parquet data", "pandas", "pyarrow") from exc
    except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
        raise InvalidData(
            f"cannot read {str(path)!r} as Parquet ({type(exc).__name__}: {exc}); pass a "
            "Parquet file or folder, or load it yourself and pass the DataFrame"
        ) from None
