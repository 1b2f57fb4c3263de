"""Open Inference Protocol v2 tensors: a model signature as OIP metadata, request tensors to
the value the model's signature takes, and predictions back to response tensors.

Datatypes are the spec's (BOOL, UINT8..UINT64, INT8..INT64, FP16/32/64, BYTES); BYTES carries
text as JSON strings. A tensor's ``data`` may be flat (row-major) or nested; its length must
match its ``shape``.
"""

from __future__ import annotations

import math
from typing import Any

from tether.models.signature import Schema, TensorSpec
from tether.serving.errors import BadRequest

NUMPY = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_KINDS = {"BOOL": "b", "U": "biu", "I": "biu", "F": "biuf"}  # numpy kinds each accepts


def datatype(dtype: str) -> str:
    """The OIP datatype for a signature dtype (``float64`` -> FP64, ``string`` -> BYTES)."""
    d = dtype.lower()
    if d in ("bool", "boolean"):
        return "BOOL"
    if d.startswith(("int", "uint")):
        return d.upper()
    if d.startswith("float"):
        return "FP" + d[5:]
    return "BYTES"  # string, category, datetime (ISO text)


def input_names(schema: Schema) -> list[str]:
    """The tensor names a client sends: the columns, or ``input-0`` for an unnamed array."""
    return [s.name if s.name is not None else f"input-{i}" for i, s in enumerate(schema.specs)]


def output_names(schema: Schema | None) -> list[str]:
    if schema is None or schema.kind in ("ndarray",) or not schema.names():
        return ["predict"]
    return schema.names()


def _meta_shape(schema: Schema, spec: TensorSpec) -> list[int]:
    return list(spec.shape) if schema.kind in ("ndarray", "dict") else [-1]


def metadata(schema: Schema | None, outputs: Schema | None) -> dict[str, Any]:
    """The ``inputs`` and ``outputs`` of the model metadata response."""
    ins: list[dict[str, Any]] = []
    if schema is not None:
        for name, spec in zip(input_names(schema), schema.specs, strict=True):
            ins.append(
                {"name": name, "datatype": datatype(spec.dtype), "shape": _meta_shape(schema, spec)}
            )
    outs: list[dict[str, Any]] = []
    if outputs is not None:
        if outputs.kind == "ndarray" or not outputs.names():
            spec = outputs.specs[0]
            outs.append({"name": "predict", "datatype": datatype(spec.dtype),
                         "shape": list(spec.shape)})  # fmt: skip
        else:
            outs.extend(
                {"name": s.name, "datatype": datatype(s.dtype), "shape": _meta_shape(outputs, s)}
                for s in outputs.specs
            )
    return {"inputs": ins, "outputs": outs}


def decode_tensor(inp: Any, index: int, binary: memoryview | None = None) -> tuple[str, Any, int]:
    """One request input (``{"name", "shape", "datatype", "data"}``) as a NumPy array, and
    the bytes it took from ``binary`` (the binary tensor data extension)."""
    import numpy as np

    if not isinstance(inp, dict):
        raise BadRequest(f"inputs[{index}] is not an object")
    name = inp.get("name")
    if not isinstance(name, str):
        raise BadRequest(f"inputs[{index}] has no name (a string)")
    shape, dt, data = inp.get("shape"), inp.get("datatype"), inp.get("data")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise BadRequest(
            f"input {name!r}: shape must be a list of whole numbers >= 0, got {shape!r}",
            input=name,
        )
    if dt not in NUMPY:
        raise BadRequest(
            f"input {name!r}: unknown datatype {dt!r}; expected one of {', '.join(NUMPY)}",
            input=name,
        )
    want = math.prod(shape)
    params = inp.get("parameters")
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is not None:
        return name, _binary(name, dt, shape, want, size, binary), size
    if not isinstance(data, list | np.ndarray):  # an array: numbers parsed by loads_infer
        raise BadRequest(f"input {name!r}: data must be a list", input=name)
    try:
        if dt == "BYTES":
            arr = np.array(data, dtype=object)
            if arr.size != want:
                raise ValueError
            if not all(isinstance(v, str) for v in arr.flat):
                raise BadRequest(f"input {name!r}: BYTES data must be strings", input=name)
        else:
            arr = data if isinstance(data, np.ndarray) else np.asarray(data)
            if arr.size and arr.dtype.kind not in _KINDS.get(dt[0] if dt != "BOOL" else dt, ""):
                raise BadRequest(
                    f"input {name!r}: data holds {_what(arr)} values, not {dt}", input=name
                )
            arr = arr.astype(NUMPY[dt], copy=False)
    except ValueError:
        raise BadRequest(
            f"input {name!r}: data does not fill shape {shape} ({want} values, row-major)",
            input=name,
        ) from None
    if arr.size != want:
        raise BadRequest(
            f"input {name!r}: data has {arr.size} values but shape {shape} holds {want}",
            input=name,
        )
    return name, arr.reshape(shape), 0


def _binary(
    name: str, dt: str, shape: list[int], want: int, size: Any, binary: memoryview | None
) -> Any:
    import numpy as np

    if type(size) is not int or size < 0 or binary is None or size > len(binary):
        raise BadRequest(
            f"input {name!r}: binary_data_size {size!r} does not fit the binary part of the body",
            input=name,
        )
    raw = binary[:size]
    if dt != "BYTES":
        item = np.dtype(NUMPY[dt]).itemsize
        if size != want * item:
            raise BadRequest(
                f"input {name!r}: {size} bytes of binary data but shape {shape} of {dt} "
                f"takes {want * item}",
                input=name,
            )
        return np.frombuffer(raw, dtype=np.dtype(NUMPY[dt]).newbyteorder("<")).reshape(shape)
    out, pos = [], 0
    while pos < size:
        n = int.from_bytes(raw[pos : pos + 4], "little")
        pos += 4
        if pos + n > size:
            break
        try:
            out.append(bytes(raw[pos : pos + n]).decode())
        except UnicodeDecodeError:
            raise BadRequest(
                f"input {name!r}: BYTES element is not UTF-8 text", input=name
            ) from None
        pos += n
    if pos != size or len(out) != want:
        raise BadRequest(
            f"input {name!r}: binary BYTES data does not hold {want} elements", input=name
        )
    return np.array(out, dtype=object).reshape(shape)


def _what(arr: Any) -> str:
    return {"b": "boolean", "i": "integer", "u": "integer", "f": "floating-point",
            "U": "text", "O": "mixed or null"}.get(arr.dtype.kind, str(arr.dtype))  # fmt: skip


def decode_request(schema: Schema | None, body: Any, binary: memoryview | None = None) -> Any:
    """An inference request's ``inputs`` as the value ``schema`` takes (not yet conformed);
    without a signature, the one tensor given or a dict of them."""
    if not isinstance(body, dict):
        raise BadRequest("the inference request must be a JSON object")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("the inference request needs 'inputs', a non-empty list of tensors")
    params = body.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise BadRequest("'parameters' must be an object")
    names = input_names(schema) if schema is not None else None
    tensors: dict[str, Any] = {}
    offset = 0
    for i, inp in enumerate(inputs):
        name, arr, used = decode_tensor(inp, i, None if binary is None else binary[offset:])
        offset += used
        if names is not None and name not in names:
            raise BadRequest(
                f"unknown input {name!r}; the model takes {', '.join(names)}", input=name
            )
        if name in tensors:
            raise BadRequest(f"input {name!r} is given twice", input=name)
        if arr.ndim == 0:
            raise BadRequest(f"input {name!r}: shape must have a row dimension", input=name)
        tensors[name] = arr
    if schema is None:
        return next(iter(tensors.values())) if len(tensors) == 1 else tensors
    if schema.kind == "ndarray":
        return tensors[input_names(schema)[0]]
    rows = {a.shape[0] for a in tensors.values()}
    if len(rows) > 1:
        raise BadRequest(f"inputs have different numbers of rows: {sorted(rows)}")
    if schema.kind == "dict":
        return tensors
    import pandas as pd

    cols = {}
    for name, a in tensors.items():
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise BadRequest(
                f"input {name!r} is a column: shape must be [rows] or [rows, 1]", input=name
            )
        cols[name] = a
    return pd.DataFrame(cols)


def rows_of(value: Any) -> int:
    if isinstance(value, dict):
        return len(next(iter(value.values())))
    return len(value)


def concat(values: list[Any]) -> Any:
    """Requests' conformed inputs as one batch."""
    if len(values) == 1:
        return values[0]
    first = values[0]
    if isinstance(first, dict):
        import numpy as np

        return {k: np.concatenate([v[k] for v in values]) for k in first}
    mod = type(first).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        return pd.concat(values, ignore_index=True)
    if mod.startswith("pyarrow"):
        import pyarrow as pa

        return pa.concat_tables(values)
    import numpy as np

    return np.concatenate(values)


def full_batch(value: Any, rows: int) -> Any:
    """``value`` repeated (and cut) to ``rows`` rows: a batch as large as the batcher makes."""
    have = rows_of(value)
    if have == 0 or have >= rows:
        return value
    whole = concat([value] * -(-rows // have))
    if isinstance(whole, dict):
        return {k: v[:rows] for k, v in whole.items()}
    if hasattr(whole, "iloc"):
        return whole.iloc[:rows]
    return whole.slice(0, rows) if hasattr(whole, "slice") else whole[:rows]


def split(output: Any, sizes: list[int]) -> list[Any]:
    """A batch's predictions back into one piece per request (``sizes`` rows each)."""
    if len(sizes) == 1:
        return [output]
    out, start = [], 0
    for n in sizes:
        end = start + n
        if isinstance(output, dict):
            out.append({k: v[start:end] for k, v in output.items()})
        elif hasattr(output, "iloc"):
            out.append(output.iloc[start:end])
        else:
            out.append(output[start:end])
        start = end
    return out


_DATATYPES: dict[Any, str] = {}  # NumPy dtype -> OIP datatype, as met


def _tensor_out(name: str, arr: Any) -> dict[str, Any]:
    import numpy as np

    arr = np.asarray(arr)
    kind = arr.dtype.kind
    if kind in "biuf":
        dt = _DATATYPES.get(arr.dtype)
        if dt is None:
            dt = _DATATYPES[arr.dtype] = datatype(str(arr.dtype))
        data = arr.reshape(-1).tolist()
    else:
        dt = "BYTES"
        data = [str(v) for v in arr.reshape(-1).tolist()]
    return {"name": name, "datatype": dt, "shape": list(arr.shape), "data": data}


def encode_outputs(pred: Any) -> list[dict[str, Any]]:
    """Predictions (an array, a DataFrame or Series, a dict of arrays) as response tensors."""
    if isinstance(pred, dict):
        return [_tensor_out(str(k), v) for k, v in pred.items()]
    if hasattr(pred, "columns"):  # DataFrame
        return [_tensor_out(str(c), pred[c].to_numpy()) for c in pred.columns]
    if hasattr(pred, "to_numpy"):  # Series
        return [_tensor_out("predict", pred.to_numpy())]
    return [_tensor_out("predict", pred)]


def jsonable(pred: Any) -> Any:
    """Predictions as plain JSON values (MLflow's ``predictions``)."""
    import numpy as np

    if isinstance(pred, dict):
        return {str(k): np.asarray(v).tolist() for k, v in pred.items()}
    if hasattr(pred, "columns"):
        return pred.to_dict(orient="records")
    if hasattr(pred, "to_numpy"):
        return pred.to_numpy().tolist()
    return np.asarray(pred).tolist()


class QuickTensor:
    """The common request of a model that takes one numeric array, decoded in one step.

    ``decode`` takes a parsed JSON request and returns the conformed array when the request
    is exactly right (one tensor of the signature's name, a numeric datatype that casts safely
    to the signature's, a shape that fits it, JSON numbers that fill it), else None: the full
    path (``decode_request``, then ``conform``) takes it and names what is wrong. The result is
    what the full path gives: the datatype's values cast to the signature's dtype. No NaN
    check: the caller sends a body with a ``NaN`` token, or binary tensor data, the full way.
    """

    def __init__(self, name: str, spec: TensorSpec) -> None:
        import numpy as np

        self.name = name
        self.expected = np.dtype(spec.dtype)
        self.shape = tuple(spec.shape)
        # datatype -> (NumPy kinds of data it takes, its NumPy dtype)
        self.kinds = {
            dt: (_KINDS[dt if dt == "BOOL" else dt[0]], np.dtype(np_name))
            for dt, np_name in NUMPY.items()
            if dt != "BYTES" and np.can_cast(np.dtype(np_name), self.expected, "safe")
        }

    @classmethod
    def of(cls, schema: Schema | None) -> QuickTensor | None:
        """The quick decoder for ``schema``, when it is one numeric array."""
        if schema is None or schema.kind != "ndarray" or len(schema.specs) != 1:
            return None
        spec = schema.specs[0]
        if spec.categories is not None or spec.dtype not in NUMPY.values() or not spec.shape:
            return None
        if spec.dtype in ("object", "bool"):
            return None
        return cls(input_names(schema)[0], spec)

    def decode(self, body: Any) -> Any:
        import numpy as np

        if type(body) is not dict:
            return None
        inputs = body.get("inputs")
        if type(inputs) is not list or len(inputs) != 1:
            return None
        params = body.get("parameters")
        if params is not None and type(params) is not dict:
            return None
        inp = inputs[0]
        if type(inp) is not dict or inp.get("name") != self.name or "parameters" in inp:
            return None
        taken = self.kinds.get(inp.get("datatype"))  # type: ignore[arg-type]
        shape, data = inp.get("shape"), inp.get("data")
        if taken is None or type(shape) is not list or len(shape) != len(self.shape):
            return None
        kinds, dt = taken
        size = 1
        for got, want in zip(shape, self.shape, strict=True):
            if type(got) is not int or got < 0 or (want != -1 and got != want):
                return None
            size *= got
        if shape[0] == 0:
            return None
        if type(data) is list:
            try:
                arr = np.asarray(data)
            except ValueError:  # ragged
                return None
        elif type(data) is np.ndarray:
            arr = data
        else:
            return None
        if arr.size != size or arr.dtype.kind not in kinds:
            return None
        if arr.dtype != dt:
            arr = arr.astype(dt)
        return arr.astype(self.expected, copy=False).reshape(shape)
