"""Which detectors a column gets: by its Arrow type (numeric, categorical, or neither)."""

from __future__ import annotations

from typing import Any, Literal

Kind = Literal["numeric", "categorical", "null", "unsupported"]


def column_kind(t: Any) -> Kind:
    """``numeric`` for integers, floats and decimals; ``categorical`` for text, booleans and
    dictionary-encoded columns; ``null`` for a column with no values at all."""
    import pyarrow as pa

    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "categorical"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_dictionary(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return "categorical"
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t):
        return "categorical"
    return "unsupported"


def numeric_values(arr: Any) -> tuple[Any, int]:
    """The finite values of a numeric Arrow array as float64 NumPy, and how many were missing
    (nulls, NaNs and infinities all count as missing)."""
    import numpy as np
    import pyarrow as pa

    nulls = arr.null_count
    if nulls:
        arr = arr.drop_null()
    if pa.types.is_decimal(arr.type):
        arr = arr.cast(pa.float64())
    values = np.asarray(_primitive(arr), dtype=np.float64)
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            nulls += int(len(values) - np.count_nonzero(finite))
            values = values[finite]
    return values, nulls


_NUMPY = {
    "double": "f8", "float": "f4", "halffloat": "f2",
    "int8": "i1", "int16": "i2", "int32": "i4", "int64": "i8",
    "uint8": "u1", "uint16": "u2", "uint32": "u4", "uint64": "u8",
}  # fmt: skip


def _primitive(arr: Any) -> Any:
    """A null-free primitive Arrow array as NumPy, viewing its buffer: ``to_numpy`` would
    import pandas (0.5 s) on the way."""
    import numpy as np

    dtype = _NUMPY.get(str(arr.type))
    if dtype is None or arr.null_count:
        return arr.to_numpy(zero_copy_only=False)
    size = np.dtype(dtype).itemsize
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * size)


def value_counts(arr: Any) -> tuple[list[str], Any, int]:
    """Categories (as text), their counts, and the number of missing values of an Arrow array."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    nulls = arr.null_count
    if nulls:
        arr = arr.drop_null()
    if pa.types.is_dictionary(arr.type):
        counts = np.bincount(
            np.asarray(_primitive(arr.indices), dtype=np.int64),
            minlength=len(arr.dictionary),
        )
        keys = arr.dictionary.cast(pa.string()).to_pylist()
        keep = counts > 0
        return [k for k, ok in zip(keys, keep, strict=True) if ok], counts[keep], nulls
    if len(arr) == 0:
        return [], np.zeros(0, dtype=np.int64), nulls
    vc = pc.value_counts(arr)
    keys = vc.field("values").cast(pa.string()).to_pylist()
    return keys, np.asarray(vc.field("counts").to_numpy(), dtype=np.int64), nulls


def number_label(x: float) -> str:
    """A numeric value as a category label: ``3`` rather than ``3.0``."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))
