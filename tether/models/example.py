"""The input example: the first few rows of the sample, in a format that runs no code when
read (Parquet for tables, ``.npy``/``.npz`` without pickle for arrays)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROWS = 5

FILES = {
    "dataframe": "input_example.parquet",
    "arrow": "input_example.parquet",
    "ndarray": "input_example.npy",
    "dict": "input_example.npz",
}


def write_example(kind: str, sample: Any, folder: Path) -> str:
    name = FILES[kind]
    path = folder / name
    if kind == "dataframe":
        sample.head(ROWS).to_parquet(path, engine="pyarrow", index=False)
    elif kind == "arrow":
        import pyarrow.parquet as pq

        pq.write_table(sample.slice(0, ROWS), path)
    elif kind == "ndarray":
        import numpy as np

        np.save(path, _storable(sample[:ROWS]), allow_pickle=False)
    else:
        import numpy as np

        arrays = {k: _storable(np.asarray(v)[:ROWS]) for k, v in sample.items()}
        with path.open("wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
    return name


def read_example(kind: str, path: Path) -> Any:
    if kind == "dataframe":
        import pandas as pd

        return pd.read_parquet(path, engine="pyarrow")
    if kind == "arrow":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import numpy as np

    if kind == "ndarray":
        return np.load(path, allow_pickle=False)
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _storable(array: Any) -> Any:
    """Text held as Python objects becomes a fixed-width string array (no pickle needed)."""
    return array.astype(str) if array.dtype == object else array
