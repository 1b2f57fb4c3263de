"""JSON in and out of the server: orjson when it is installed (the ``serve`` extra has it;
several times faster on arrays of numbers), else the standard library.

orjson refuses the ``NaN``/``Infinity`` tokens that Python's and many clients' encoders write
for missing values: such a body is parsed again with ``json``, which takes them.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the serve extra installs it
    orjson = None  # type: ignore[assignment]


def loads(data: bytes) -> Any:
    """Parse ``data``; ``ValueError`` (from ``json``, with its position) when it is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # NaN, or not JSON at all: json says which, and where
    return json.loads(data)


def dumps(obj: Any) -> bytes:
    """Encode ``obj``; NumPy arrays and scalars are written directly."""
    if orjson is not None:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(obj, separators=(",", ":"), default=_plain).encode()


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")
