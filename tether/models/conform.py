"""Check a predict input against the model's input schema and convert it to what the model was
saved with: the sample's type, its columns in order, with safe casts (int to float, narrower
to wider) made. Anything else is an error that names the column and what was expected."""

from __future__ import annotations

import warnings
from typing import Any

from tether.models.errors import (
    ExtraColumn,
    MissingColumn,
    UnexpectedNull,
    UnseenCategory,
    UnseenCategoryWarning,
    WrongDtype,
    WrongInputType,
    WrongShape,
)
from tether.models.infer import kind_of
from tether.models.signature import Schema, TensorSpec

_TABLE = "a table (pandas DataFrame, Arrow table or dict of arrays)"


def conform(schema: Schema, value: Any, *, strict: bool = False) -> Any:
    if schema.kind in ("dataframe", "arrow"):
        frame = _conform_frame(schema, _to_frame(schema, value), strict)
        if schema.kind == "arrow":
            import pyarrow as pa

            return pa.Table.from_pandas(frame, preserve_index=False)
        return frame
    if schema.kind == "ndarray":
        return _conform_array(schema.specs[0], _to_array(value), strict)
    return _conform_dict(schema, value, strict)


def _to_frame(schema: Schema, value: Any) -> Any:
    import pandas as pd

    kind = kind_of(value)
    if kind == "dataframe":
        return value
    if kind == "arrow":
        return value.to_pandas()
    if kind == "dict":
        try:
            return pd.DataFrame(value)
        except ValueError as e:
            raise WrongInputType(None, f"input dict is not a table: {e}") from None
    raise WrongInputType(
        None,
        f"input is a {type(value).__qualname__}; expected {_TABLE} with columns "
        f"{', '.join(schema.names())}",
    )


def _to_array(value: Any) -> Any:
    import numpy as np

    kind = kind_of(value)
    if kind == "dataframe":
        return value.to_numpy()
    if kind in ("arrow", "dict"):
        raise WrongInputType(None, f"input is a {type(value).__qualname__}; expected an array")
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as e:
        raise WrongInputType(None, f"input cannot be read as an array: {e}") from None


def _check_names(schema: Schema, names: list[str], what: str) -> None:
    expected = schema.names()
    for spec in schema.specs:
        if spec.name not in names:
            raise MissingColumn(
                spec.name,
                f"input is missing {what} {spec.name!r} ({spec.dtype}); "
                f"expected {what}s: {', '.join(expected)}",
            )
    for name in names:
        if name not in expected:
            raise ExtraColumn(
                name,
                f"input has {what} {name!r}, which the model's signature does not have; "
                f"drop it (expected {what}s: {', '.join(expected)})",
            )


def _conform_frame(schema: Schema, frame: Any, strict: bool) -> Any:
    import pandas as pd

    _check_names(schema, [str(c) for c in frame.columns], "column")
    return pd.DataFrame(
        {spec.name: _conform_series(spec, frame[spec.name], strict) for spec in schema.specs},
        index=frame.index,
    )


def _conform_series(spec: TensorSpec, series: Any, strict: bool) -> Any:
    import pandas as pd

    label = f"column {spec.name!r}"
    nulls = int(series.isna().sum())
    if nulls and not spec.nullable:
        raise UnexpectedNull(
            spec.name,
            f"{label} has {nulls} missing value(s), but the sample had none; fill them "
            "(or save the model with a sample that has missing values there)",
        )
    dtype = series.dtype
    if spec.dtype == "category":
        if not (isinstance(dtype, pd.CategoricalDtype) or _is_text(series)):
            raise _wrong(spec, label, dtype)
        values = series.astype(object)
        _check_categories(spec, label, values.dropna().unique(), strict)
        return pd.Series(
            pd.Categorical(values, categories=list(spec.categories or ())), index=series.index
        )
    if spec.dtype == "string":
        if isinstance(dtype, pd.CategoricalDtype):
            series = series.astype(object)
        elif not _is_text(series):
            raise _wrong(spec, label, dtype)
        _check_categories(spec, label, series.dropna().unique(), strict)
        return series
    expected = pd.api.types.pandas_dtype(spec.dtype)
    if dtype == expected:
        return series
    if _safe_cast(dtype, expected):
        return series.astype(expected)
    raise _wrong(spec, label, dtype)


def _conform_dict(schema: Schema, value: Any, strict: bool) -> Any:
    import numpy as np

    kind = kind_of(value)
    if kind == "dataframe":
        value = {str(c): value[c].to_numpy() for c in value.columns}
    elif kind != "dict":
        raise WrongInputType(
            None,
            f"input is a {type(value).__qualname__}; expected a dict of arrays named "
            f"{', '.join(schema.names())}",
        )
    _check_names(schema, [str(k) for k in value], "input")
    return {
        spec.name: _conform_array(spec, np.asarray(value[spec.name]), strict)
        for spec in schema.specs
    }


def _conform_array(spec: TensorSpec, array: Any, strict: bool) -> Any:
    import numpy as np

    label = f"input {spec.name!r}" if spec.name else "input"
    expected_shape = tuple(spec.shape)
    if array.ndim != len(expected_shape) or any(
        want not in (-1, got) for want, got in zip(expected_shape, array.shape, strict=False)
    ):
        want = ", ".join("any" if d == -1 else str(d) for d in expected_shape)
        raise WrongShape(spec.name, f"{label} has shape {tuple(array.shape)}; expected ({want})")
    if spec.dtype == "string":
        if array.dtype.kind == "U" or (array.dtype == object and _all_text(array)):
            present = array[array != None] if array.dtype == object else array  # noqa: E711
            if array.dtype == object and len(present) < array.size and not spec.nullable:
                raise UnexpectedNull(
                    spec.name, f"{label} has missing values, but the sample had none"
                )
            _check_categories(spec, label, np.unique(present.astype(str)), strict)
            return array
        raise _wrong(spec, label, array.dtype)
    expected = np.dtype(spec.dtype)
    if array.dtype != expected:
        if not _safe_cast(array.dtype, expected):
            raise _wrong(spec, label, array.dtype)
        array = array.astype(expected)
    if not spec.nullable and array.dtype.kind in "fM" and np.isnan(array).any():
        raise UnexpectedNull(
            spec.name, f"{label} has NaN values, but the sample had none; fill them"
        )
    return array


def _safe_cast(actual: Any, expected: Any) -> bool:
    """int to float, narrower to wider, and datetimes of any unit (pandas and NumPy pick
    different default units for the same data)."""
    import numpy as np

    actual = getattr(actual, "numpy_dtype", actual)
    expected = getattr(expected, "numpy_dtype", expected)
    try:
        actual, expected = np.dtype(actual), np.dtype(expected)
    except TypeError:
        return False
    if actual.kind == expected.kind == "M":
        return True
    return bool(np.can_cast(actual, expected, "safe"))


def _wrong(spec: TensorSpec, label: str, actual: Any) -> WrongDtype:
    return WrongDtype(
        spec.name,
        f"{label} has dtype {actual}; expected {spec.dtype} (only safe casts are made: "
        "int to float, narrower to wider)",
    )


def _is_text(series: Any) -> bool:
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return True
    return series.dtype == object and _all_text(series.dropna().to_numpy())


def _all_text(values: Any) -> bool:
    return all(isinstance(v, str) for v in values.ravel() if v is not None)


def _check_categories(spec: TensorSpec, label: str, values: Any, strict: bool) -> None:
    if spec.categories is None:
        return
    known = {str(c) for c in spec.categories}
    unseen = sorted({str(v) for v in values} - known)
    if not unseen:
        return
    shown = ", ".join(repr(v) for v in unseen[:5])
    message = (
        f"{label} has value(s) the sample did not have: {shown}; "
        f"seen: {', '.join(repr(c) for c in spec.categories[:10])}"
    )
    if strict:
        raise UnseenCategory(spec.name, message)
    warnings.warn(message, UnseenCategoryWarning, stacklevel=4)
