"""Check what a loaded model returned against the output schema inferred when it was saved
(the model run on the sample): the kind of value, the column names, each column's family of
dtype (integer, float, boolean, text, datetime), the shape after the rows, and one output row
per input row. Checks that cost a pass over the values (nulls, categories) are not made: a
prediction may be missing or a label unseen in the sample without the model being wrong."""

from __future__ import annotations

import sys
from typing import Any

from tether.models.errors import OutputMismatch
from tether.models.infer import kind_of
from tether.models.signature import Schema, TensorSpec

_FAMILY = {"b": "boolean", "i": "integer", "u": "integer", "f": "float", "M": "datetime"}


def family(dtype: str) -> str:
    """The family of a signature dtype (``int64`` and ``Int32``: integer)."""
    low = dtype.lower()
    if low in ("string", "category"):
        return "text"
    if low.startswith("bool"):
        return "boolean"
    if low.startswith(("int", "uint")):
        return "integer"
    if low.startswith("float"):
        return "float"
    return "datetime" if low.startswith("datetime64") else dtype


def _family_of(dtype: Any) -> str:
    """The family of a NumPy or pandas dtype as it comes out of a model (pandas is not
    imported for a NumPy one: a model predicting arrays may never need it)."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(dtype, np.dtype):  # the common case, fast
        kind = dtype.kind
        return "text" if kind in ("U", "O", "S") else (_FAMILY.get(kind) or str(dtype))
    pd = sys.modules.get("pandas")
    if pd is not None and hasattr(pd, "api") and hasattr(pd, "CategoricalDtype"):
        if isinstance(dtype, pd.CategoricalDtype):
            return "text"
        if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            return "text"  # object: text as the sample's was (anything else: not described)
    kind = getattr(getattr(dtype, "numpy_dtype", dtype), "kind", "")
    if kind in ("U", "O", "S"):
        return "text"
    return _FAMILY.get(kind) or str(dtype)


def check_output(schema: Schema, output: Any, rows: int | None) -> None:
    """Raise ``OutputMismatch`` where ``output`` does not match ``schema``; ``rows`` is the
    number of input rows (None when unknown)."""
    kind = kind_of(output)
    if kind is None:  # a list, a Series, a tensor: described as an array when saved
        import numpy as np

        try:
            output = np.asarray(output)
        except (ValueError, TypeError) as e:
            raise OutputMismatch(
                None, f"the model's output cannot be read as an array: {e}"
            ) from None
        kind = "ndarray"
    tables = ("dataframe", "arrow")
    if kind != schema.kind and not (kind in tables and schema.kind in tables):
        raise OutputMismatch(
            None,
            f"the model returned {_kind_text(kind)}, but when it was saved it returned "
            f"{_kind_text(schema.kind)} (its output schema): the model or its library changed "
            "since; save it again",
        )
    if kind in tables:
        frame = output.to_pandas() if kind == "arrow" else output
        columns = {str(c): frame[c].dtype for c in frame.columns}
        _check_names(schema, list(columns))
        for spec in schema.specs:
            _check_family(spec, _family_of(columns[str(spec.name)]))
        _check_rows(len(frame), rows)
    elif kind == "ndarray":
        _check_array(schema.specs[0], output, rows)
    else:
        import numpy as np

        arrays = {str(k): np.asarray(v) for k, v in output.items()}
        _check_names(schema, list(arrays))
        for spec in schema.specs:
            _check_array(spec, arrays[str(spec.name)], rows)


def _kind_text(kind: str) -> str:
    return {
        "dataframe": "a table (DataFrame)",
        "arrow": "a table (Arrow)",
        "ndarray": "an array",
        "dict": "a dict of arrays",
    }.get(kind, kind)


def _check_names(schema: Schema, names: list[str]) -> None:
    expected = schema.names()
    missing = [n for n in expected if n not in names]
    extra = [n for n in names if n not in expected]
    if missing or extra:
        name = (missing or extra)[0]
        problem = f"lacks {name!r}" if missing else f"has {name!r}, which it did not have"
        raise OutputMismatch(
            name,
            f"the model's output {problem} when it was saved; its output schema names "
            f"{', '.join(expected)}, the output named {', '.join(names) or 'nothing'}",
        )


def _check_family(spec: TensorSpec, got: str) -> None:
    want = family(spec.dtype)
    if got != want:
        label = f"output {spec.name!r}" if spec.name else "the model's output"
        raise OutputMismatch(
            spec.name,
            f"{label} is {got}, but the output schema saved with the model says {want} "
            f"({spec.dtype}): the model or its library changed since; save it again",
        )


def _check_array(spec: TensorSpec, array: Any, rows: int | None) -> None:
    label = f"output {spec.name!r}" if spec.name else "the model's output"
    if array.ndim != len(spec.shape):
        raise OutputMismatch(
            spec.name,
            f"{label} has shape {tuple(array.shape)}, but the output schema saved with the "
            f"model says {_shape_text(spec.shape)}",
        )
    for got, want in zip(array.shape[1:], spec.shape[1:], strict=True):
        if want != -1 and got != want:
            raise OutputMismatch(
                spec.name,
                f"{label} has shape {tuple(array.shape)}, but the output schema saved with the "
                f"model says {_shape_text(spec.shape)}",
            )
    _check_family(spec, _family_of(array.dtype))
    _check_rows(array.shape[0], rows)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("any" if d == -1 else str(d) for d in shape) + ")"


def _check_rows(got: int, rows: int | None) -> None:
    if rows is not None and got != rows:
        raise OutputMismatch(
            None, f"the model returned {got} rows for {rows} input rows; expected one per row"
        )


def rows_of(value: Any) -> int | None:
    """The number of rows of a predict input (None when it has none to count)."""
    kind = kind_of(value)
    if kind in ("dataframe", "arrow"):
        return int(value.num_rows if kind == "arrow" else len(value))
    if kind == "ndarray":
        return int(value.shape[0]) if value.ndim else None
    if kind == "dict":
        for column in value.values():
            return len(column) if hasattr(column, "__len__") else None
    return None
