"""Describe a sample (DataFrame, NumPy array, Arrow table, dict of arrays) as a Schema.

pandas and pyarrow are looked up in ``sys.modules``: a value of theirs exists only if they are
already imported, so recognising one never imports them.
"""

from __future__ import annotations

import sys
from typing import Any

from tether.models.errors import SampleNotDescribable
from tether.models.signature import Scalar, Schema, TensorSpec

MAX_CATEGORIES = 50
"""A text column with more distinct values than this in the sample records none (free text)."""


def kind_of(value: Any) -> str | None:
    # a module another thread is still importing is in sys.modules without its classes yet
    # (a server whose prediction log imports pandas while requests come in): no value can be
    # of a class that does not exist, so a missing one answers "not that kind"
    ndarray = _loaded_class("numpy", "ndarray")
    if ndarray is not None and isinstance(value, ndarray):
        return "ndarray"  # the common case first: neither a DataFrame nor a Table is one
    frame = _loaded_class("pandas", "DataFrame")
    if frame is not None and isinstance(value, frame):
        return "dataframe"
    table = _loaded_class("pyarrow", "Table")
    if table is not None and isinstance(value, table):
        return "arrow"
    if isinstance(value, dict):
        return "dict"
    return None


def _loaded_class(module: str, name: str) -> Any:
    """``module.name`` if ``module`` is imported (fully enough to define it), else None."""
    return getattr(sys.modules.get(module), name, None)


def describe(value: Any, what: str = "sample") -> Schema:
    kind = kind_of(value)
    if kind == "dataframe":
        return Schema(kind, _frame_specs(value, what))
    if kind == "arrow":
        return Schema(kind, _frame_specs(value.to_pandas(), what))
    if kind == "ndarray":
        return Schema(kind, (describe_array(value, None, what),))
    if kind == "dict":
        return Schema(kind, _dict_specs(value, what))
    raise SampleNotDescribable(
        f"cannot describe a {what} of type {type(value).__qualname__}: pass a pandas DataFrame, "
        "a NumPy array, an Arrow table or a dict of arrays"
    )


def _frame_specs(frame: Any, what: str) -> tuple[TensorSpec, ...]:
    names = list(frame.columns)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise SampleNotDescribable(
            f"the {what}'s column names must be strings; {bad[0]!r} is a "
            f"{type(bad[0]).__name__}: rename the columns"
        )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SampleNotDescribable(f"the {what} has two columns named {dup!r}: rename one")
    return tuple(describe_column(frame[n], n, what) for n in names)


def _dict_specs(value: dict[Any, Any], what: str) -> tuple[TensorSpec, ...]:
    import numpy as np

    specs, rows = [], set()
    for name, column in value.items():
        if not isinstance(name, str):
            raise SampleNotDescribable(f"the {what}'s keys must be strings; {name!r} is not")
        array = np.asarray(column)
        specs.append(describe_array(array, name, what))
        rows.add(len(array))
    if len(rows) > 1:
        raise SampleNotDescribable(
            f"the {what}'s arrays have different numbers of rows ({sorted(rows)}): "
            "give every array the same first dimension"
        )
    return tuple(specs)


def describe_column(series: Any, name: str, what: str) -> TensorSpec:
    import pandas as pd

    dtype = series.dtype
    nullable = bool(series.isna().any())
    if isinstance(dtype, pd.CategoricalDtype):
        cats = tuple(_scalar(c, name, what) for c in dtype.categories)
        return TensorSpec(name, "category", (-1,), nullable, cats)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        values = series.dropna()
        _check_all_text(values.map(type).unique(), name, what)
        return TensorSpec(name, "string", (-1,), nullable, _text_categories(values.unique()))
    kind = getattr(getattr(dtype, "numpy_dtype", dtype), "kind", "")
    if kind in "biufM" and kind:
        return TensorSpec(name, str(dtype), (-1,), nullable)
    raise SampleNotDescribable(
        f"column {name!r} of the {what} has dtype {dtype}, which a signature cannot describe; "
        "convert it to numbers, booleans, text, category or datetime64"
    )


def describe_array(array: Any, name: str | None, what: str) -> TensorSpec:
    import numpy as np

    label = f"{name!r} of the {what}" if name else f"the {what}"
    if array.ndim == 0:
        raise SampleNotDescribable(f"{label} is a scalar: pass at least one row")
    shape = (-1, *array.shape[1:])
    if array.dtype == object:
        flat = array.ravel()
        present = [v for v in flat if v is not None]
        _check_all_text({type(v) for v in present}, name or "array", what)
        nullable = len(present) < len(flat)
        return TensorSpec(name, "string", shape, nullable, _text_categories(np.unique(present)))
    if array.dtype.kind == "U":
        return TensorSpec(name, "string", shape, False, _text_categories(np.unique(array)))
    if array.dtype.kind not in "biufM":
        raise SampleNotDescribable(
            f"{label} has dtype {array.dtype}, which a signature cannot describe; "
            "pass numbers, booleans, text or datetime64"
        )
    nullable = bool(array.dtype.kind in "fM" and np.isnan(array).any())
    return TensorSpec(name, str(array.dtype), shape, nullable)


def _check_all_text(types: Any, name: str, what: str) -> None:
    seen = sorted({t.__name__ for t in types})
    if seen and seen != ["str"]:
        raise SampleNotDescribable(
            f"column {name!r} of the {what} holds values of types {', '.join(seen)}; a column "
            "must hold one type: convert it (e.g. .astype(str)) before saving"
        )


def _text_categories(values: Any) -> tuple[Scalar, ...] | None:
    if len(values) > MAX_CATEGORIES:
        return None
    return tuple(sorted(str(v) for v in values))


def _scalar(value: Any, name: str, what: str) -> Scalar:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, str | int | float | bool):
        return value
    raise SampleNotDescribable(
        f"column {name!r} of the {what} has a category {value!r} of type "
        f"{type(value).__name__}; categories must be text, numbers or booleans"
    )
