"""JSON in and out of the server: orjson when it is installed (the ``serve`` extra has it;
several times faster on arrays of numbers), else the standard library.

orjson refuses the ``NaN``/``Infinity`` tokens that Python's and many clients' encoders write
for missing values: such a body is parsed again with ``json``, which takes them.

An inference request's tensors are parsed with simdjson where it is installed (the ``serve``
extra has it): the numbers of a numeric tensor go straight into a NumPy array, never becoming
Python numbers. A 100-row, 20-feature request: 27 µs against orjson and ``np.asarray``'s 84
µs, a fifth of what the server spends on such a request.
"""

from __future__ import annotations

import json
import threading
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the serve extra installs it
    orjson = None  # type: ignore[assignment]

try:
    import simdjson
except ImportError:  # pragma: no cover - the serve extra installs it
    simdjson = None  # type: ignore[assignment]

# the buffer type simdjson copies a numeric tensor into, by OIP datatype (as_buffer's of_type);
# narrower types are cast from it as the rest of the tensor decoding does
_BUFFER = {"FP16": "d", "FP32": "d", "FP64": "d", "INT8": "i", "INT16": "i", "INT32": "i",
           "INT64": "i", "UINT8": "i", "UINT16": "i", "UINT32": "i", "UINT64": "i"}  # fmt: skip
_parsers = threading.local()  # a parser's documents are valid until its next parse
# below this many bytes orjson and ``np.asarray`` are the faster (6 µs against 3 on one row
# of 20 features; even at 1.2 KB)
SIMDJSON_FROM = 1200
# above it, orjson too: a simdjson parser keeps the buffers of the largest document it has
# parsed (a 40 MB body left 230 MB behind), and each thread keeps its parser
SIMDJSON_UP_TO = 1 << 20


def loads(data: bytes) -> Any:
    """Parse ``data``; ``ValueError`` (from ``json``, with its position) when it is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # NaN, or not JSON at all: json says which, and where
    return json.loads(data)


def loads_infer(data: bytes) -> Any:
    """Parse an inference request as ``loads`` does, except that the ``data`` of a numeric
    tensor in ``inputs`` (flat, or nested one level as rows) is a flat NumPy array of float64
    or int64. Anything else, a body under 1.2 KB or over 1 MiB, and a body simdjson cannot
    parse (NaN tokens, numbers out of range, not JSON), is parsed by ``loads``."""
    if simdjson is None or not SIMDJSON_FROM <= len(data) <= SIMDJSON_UP_TO:
        return loads(data)
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = simdjson.Parser()
    try:
        doc = parser.parse(data)
        if not isinstance(doc, simdjson.Object):
            return _python(doc)
        return {k: _inputs(doc[k]) if k == "inputs" else _python(doc[k]) for k in doc}
    except (ValueError, TypeError, RuntimeError):
        return loads(data)


def _inputs(value: Any) -> Any:
    if not isinstance(value, simdjson.Array):
        return _python(value)
    return [_tensor(t) if isinstance(t, simdjson.Object) else _python(t) for t in value]


def _tensor(obj: Any) -> dict[str, Any]:
    out = {k: _python(obj[k]) for k in obj if k != "data"}
    data = obj.get("data")
    of_type = _BUFFER.get(out.get("datatype"))  # type: ignore[arg-type]
    if isinstance(data, simdjson.Array) and of_type is not None and _rectangular(data):
        import numpy as np

        try:
            buffer = data.as_buffer(of_type=of_type)  # type: ignore[arg-type]
        except (TypeError, ValueError):  # not all numbers of that type: the general path says
            buffer = None
        if buffer is not None:
            out["data"] = np.frombuffer(buffer, "float64" if of_type == "d" else "int64")
            return out
    if data is not None or "data" in obj:
        out["data"] = _python(data)
    return out


def _rectangular(data: Any) -> bool:
    """Numbers, or rows of numbers of one length: ``as_buffer`` flattens any nesting, so ragged
    rows would pass for a full tensor."""
    if not len(data) or not isinstance(data[0], simdjson.Array):
        return True
    width = len(data[0])
    return all(isinstance(r, simdjson.Array) and len(r) == width for r in data) and not (
        width and isinstance(data[0][0], simdjson.Array)
    )


def _python(value: Any) -> Any:
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


def dumps(obj: Any) -> bytes:
    """Encode ``obj``; NumPy arrays and scalars are written directly."""
    if orjson is not None:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(obj, separators=(",", ":"), default=_plain).encode()


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")
