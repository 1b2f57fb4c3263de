"""Pipeline params as stored on the run, so that ``resume`` calls the pipeline the same way.

JSON values are stored as they are; a ``pathlib.Path`` as ``{"$path": "..."}``; a dataset
reference as ``{"$dataset": "name@N"}`` (resolved: resume and reproduce read the same version).
Anything else cannot be stored faithfully and is refused before the run starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tether.data.dataset_ref import DatasetRef
from tether.pipelines.errors import InvalidPipeline

PATH_KEY = "$path"
DATASET_KEY = "$dataset"


def encode_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, Path):
            out[name] = {PATH_KEY: str(value)}
            continue
        if isinstance(value, DatasetRef):
            out[name] = {DATASET_KEY: value.ref}
            continue
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidPipeline(
                f"pipeline param {name!r} is a {type(value).__name__}; pipeline params must be "
                "JSON values (numbers, strings, lists, dicts) or paths, so that the run can be "
                "resumed: pass a path to the data, or build the value in a step"
            ) from None
        out[name] = value
    return out


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {PATH_KEY}:
        return Path(value[PATH_KEY])
    if isinstance(value, dict) and set(value) == {DATASET_KEY}:
        return DatasetRef.parse(value[DATASET_KEY])
    return value


def decode_params(stored: dict[str, Any]) -> dict[str, Any]:
    return {name: _decode(value) for name, value in stored.items()}
