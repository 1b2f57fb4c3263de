"""MLflow's scoring request formats (``POST /invocations``), so that MLflow clients keep working:
JSON with one of ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``, or CSV."""

from __future__ import annotations

from typing import Any

from tether.models.signature import Schema
from tether.serving.errors import BadRequest
from tether.serving.jsonio import loads

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode(schema: Schema, body: bytes, content_type: str | None) -> Any:
    kind = media_type(content_type)
    if kind == "text/csv":
        import io

        import pandas as pd

        try:
            return pd.read_csv(io.BytesIO(body))
        except Exception as e:  # pandas raises several types for bad CSV
            raise BadRequest(f"the CSV body cannot be read: {e}") from None
    if kind != "application/json":
        raise BadRequest(
            f"content type {content_type or '(none)'!r} is not supported; "
            "send application/json or text/csv",
            status=415,
        )
    try:
        obj = loads(body)
    except ValueError as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise BadRequest(f"the body must be a JSON object with one of {', '.join(FORMATS)}")
    given = [k for k in FORMATS if k in obj]
    if len(given) != 1:
        raise BadRequest(
            f"the body must have exactly one of {', '.join(FORMATS)}; it has "
            f"{', '.join(given) or 'none'}"
        )
    key = given[0]
    value = obj[key]
    import pandas as pd

    try:
        if key == "dataframe_split":
            if not isinstance(value, dict) or not isinstance(value.get("data"), list):
                raise BadRequest("dataframe_split must be an object with 'columns' and 'data'")
            return pd.DataFrame(
                value["data"], columns=value.get("columns"), index=value.get("index")
            )
        if key == "dataframe_records":
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                raise BadRequest("dataframe_records must be a list of objects (one per row)")
            return pd.DataFrame.from_records(value)
        return _tensor_input(schema, key, value)
    except (ValueError, TypeError) as e:
        raise BadRequest(f"{key} cannot be read: {e}") from None


def _tensor_input(schema: Schema, key: str, value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        if schema.kind in ("dataframe", "arrow"):
            return pd.DataFrame({k: np.asarray(v) for k, v in value.items()})
        return {k: np.asarray(v) for k, v in value.items()}
    if not isinstance(value, list):
        raise BadRequest(f"{key} must be a list of rows or an object of columns")
    if value and all(isinstance(r, dict) for r in value):
        return pd.DataFrame.from_records(value)
    arr = np.asarray(value)
    if schema.kind in ("dataframe", "arrow"):
        names = schema.names()
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise BadRequest(f"{key}: expected rows of {len(names)} values ({', '.join(names)})")
        return pd.DataFrame(list(value), columns=names)
    return arr
