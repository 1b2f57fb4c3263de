"""The quick decoder of a one-array model gives what the full path (``decode_request``, then
``conform``) gives, or leaves the request to it."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from tether.models.conform import conform
from tether.models.signature import Schema, TensorSpec
from tether.serving.errors import BadRequest
from tether.serving.jsonio import loads_infer
from tether.serving.tensors import QuickTensor, decode_request

ROW = [0.5, -1.25, 3.0, 2.0]


def _schema(dtype: str = "float64", shape: tuple[int, ...] = (-1, 4)) -> Schema:
    return Schema(kind="ndarray", specs=(TensorSpec(None, dtype, shape),))


def _body(**kw: Any) -> dict[str, Any]:
    tensor = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW, **kw}
    return {"inputs": [tensor]}


def _full(schema: Schema, obj: Any) -> Any:
    """The full path's answer: the conformed array, or the error."""
    try:
        return conform(schema, decode_request(schema, obj))
    except Exception as e:
        return e


CASES = [
    _body(),
    _body(shape=[2, 4], data=ROW + ROW),
    _body(shape=[2, 4], data=[ROW, ROW]),  # nested rows
    _body(datatype="FP32"),
    _body(datatype="INT64", data=[1, 2, 3, 4]),
    _body(datatype="INT8", data=[1, 2, 3, 4]),
    _body(datatype="UINT64", data=[1, 2, 3, 4]),  # no safe cast to float64 in NumPy
    _body(datatype="BOOL", data=[True, False, True, True]),
    _body(data=[1, 2, 3, 4]),  # integers for FP64
    _body(data=[True, 1.0, 2.0, 3.0]),
    _body(datatype="INT64"),  # floats for INT64
    _body(datatype="FP99"),
    _body(datatype="BYTES", data=["a", "b", "c", "d"]),
    _body(data=["0.5", "1", "2", "3"]),  # text for FP64
    _body(data=[0.1, None, 0.3, 0.4]),
    _body(shape=[2, 4]),
    _body(shape=[1, 5], data=[*ROW, 1.0]),
    _body(shape=[0, 4], data=[]),
    _body(shape=[4]),
    _body(shape=[1, -4]),
    _body(shape=[1.0, 4]),
    _body(shape="1,4"),
    _body(data=[[0.1, 0.2], [0.3]]),  # ragged
    _body(data={"x": 1}),
    _body(name="x"),
    _body(parameters={"binary_data_size": 32}),
    {**_body(), "parameters": []},
    {**_body(), "parameters": {"a": 1}},
    {"inputs": [_body()["inputs"][0], _body()["inputs"][0]]},
    {"inputs": []},
    {"inputs": {"name": "input-0"}},
    [1, 2],
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_quick_decode_agrees_with_the_full_path(case: int, dtype: str) -> None:
    schema = _schema(dtype)
    quick = QuickTensor.of(schema)
    assert quick is not None
    obj = CASES[case]
    got = quick.decode(obj)
    full = _full(schema, obj)
    if got is None:  # left to the full path, which may well take it
        return
    assert not isinstance(full, Exception), f"quick took what the full path refuses: {full}"
    assert got.dtype == full.dtype and got.shape == full.shape
    np.testing.assert_array_equal(got, full)


def test_quick_decode_takes_well_formed_numeric_requests() -> None:
    quick = QuickTensor.of(_schema())
    assert quick is not None
    taken = {i for i, obj in enumerate(CASES) if quick.decode(obj) is not None}
    assert {0, 1, 2, 3, 4, 5, 8, 9} <= taken
    assert taken.isdisjoint({10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25})


def test_quick_decode_takes_the_common_request_through_both_parsers() -> None:
    schema = _schema()
    quick = QuickTensor.of(schema)
    assert quick is not None
    small = json.dumps(_body()).encode()
    rows = [[float(i + j) for j in range(4)] for i in range(100)]
    large = json.dumps(_body(shape=[100, 4], data=[x for r in rows for x in r])).encode()
    assert len(large) > 1200  # parsed by simdjson: the data is already an array
    for body, want in ((small, np.array([ROW])), (large, np.array(rows))):
        got = quick.decode(loads_infer(body))
        assert got is not None and got.dtype == np.float64
        np.testing.assert_array_equal(got, want)


def test_models_that_are_not_one_numeric_array_have_no_quick_decoder() -> None:
    assert QuickTensor.of(None) is None
    assert QuickTensor.of(_schema("string")) is None
    assert QuickTensor.of(_schema("bool")) is None
    two = Schema(kind="dict", specs=(TensorSpec("a", "float64"), TensorSpec("b", "float64")))
    assert QuickTensor.of(two) is None
    table = Schema(kind="dataframe", specs=(TensorSpec("a", "float64"),))
    assert QuickTensor.of(table) is None


def test_a_nan_token_is_refused_with_the_quick_decoder_in_place(server: Any) -> None:
    """The quick decoder skips the NaN check; the server sends NaN bodies the full way."""
    body = b'{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP64","data":[0.1,NaN,1,2]}]}'
    status, _, data = server.request("POST", "/v2/models/lr/infer", body)
    assert status == 400, data
    assert b"NaN" in data


def test_bad_request_is_the_full_paths_error() -> None:
    schema = _schema()
    with pytest.raises(BadRequest, match="unknown datatype 'FP99'"):
        decode_request(schema, _body(datatype="FP99"))
    quick = QuickTensor.of(schema)
    assert quick is not None and quick.decode(_body(datatype="FP99")) is None
