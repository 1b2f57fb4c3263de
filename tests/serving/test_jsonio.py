"""Inference requests parsed with numeric tensors straight into arrays: the same values as the
general parse, and every body it does not take parsed by the general path."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from tether.serving.jsonio import SIMDJSON_FROM, SIMDJSON_UP_TO, loads, loads_infer


def _request(data: object, datatype: str = "FP64", shape: list[int] | None = None) -> bytes:
    """A request large enough for the simdjson path (SIMDJSON_FROM bytes, padded)."""
    tensor = {"name": "x", "shape": shape or [2, 2], "datatype": datatype, "data": data}
    pad = "p" * SIMDJSON_FROM
    return json.dumps({"id": "r1", "parameters": {"pad": pad}, "inputs": [tensor]}).encode()


@pytest.mark.parametrize(
    ("data", "datatype", "dtype"),
    [
        ([1.5, 2, -3e10, 4.25], "FP64", "float64"),
        ([[1.5, 2.0], [3.0, 4.0]], "FP32", "float64"),  # rows: flattened row-major
        ([1, 2, 3, -4], "INT64", "int64"),
        ([[1, 2], [3, 4]], "UINT8", "int64"),
    ],
)
def test_numeric_tensors_become_flat_arrays_with_the_general_parse_values(
    data: object, datatype: str, dtype: str
) -> None:
    body = _request(data, datatype)
    fast, general = loads_infer(body), loads(body)
    got = fast["inputs"][0].pop("data")
    want = general["inputs"][0].pop("data")
    assert isinstance(got, np.ndarray) and got.dtype == dtype and got.flags.writeable
    assert got.tolist() == np.asarray(want, dtype=dtype).ravel().tolist()
    assert fast == general  # everything but the data, as Python values


@pytest.mark.parametrize(
    "body",
    [
        _request([[1.0], [2.0, 3.0, 4.0]]),  # ragged rows: the general path refuses them
        _request([[[1.0, 2.0]], [[3.0, 4.0]]]),  # deeper than rows
        _request([True, False, True, 1.0]),  # booleans are not FP64
        _request([1.5, 2.5, 3, 4], "INT64"),  # floats are not INT64
        _request([18446744073709551615, 1, 2, 3], "UINT64"),  # beyond int64
        _request(["a", "b", "c", "d"], "BYTES"),
        _request([None, 1.0, 2.0, 3.0]),
        _request(1.5),
        _request([1.0, 2.0, 3.0, 4.0]).replace(b"4.0", b"NaN"),
        _request([1.0, 2.0, 3.0, 4.0]).replace(b"4.0", b"1e400"),
        b'{"inputs": "not tensors", "pad": "%s"}' % (b"p" * SIMDJSON_FROM),
        b"[%s]" % b",".join([b"1"] * SIMDJSON_FROM),
    ],
)
def test_bodies_the_fast_parse_does_not_take_parse_as_the_general_path_does(body: bytes) -> None:
    fast, general = loads_infer(body), loads(body)
    assert json.dumps(fast, default=str) == json.dumps(general, default=str)


def test_a_body_that_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        loads_infer(_request([1.0])[:-10])


def test_small_and_large_bodies_take_the_general_parse() -> None:
    """Small ones are parsed faster by orjson; large ones would leave a simdjson parser
    holding several times their size for the life of the server."""
    body = b'{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]}]}'
    assert loads_infer(body) == loads(body)  # data stays a list
    values = [0.5] * (SIMDJSON_UP_TO // 4)
    large = _request(values, shape=[len(values)])
    assert len(large) > SIMDJSON_UP_TO
    assert isinstance(loads_infer(large)["inputs"][0]["data"], list)


def test_threads_parse_at_once_without_mixing_documents() -> None:
    bodies = [_request([float(i)] * 4) for i in range(8)]
    errors: list[str] = []

    def parse(i: int) -> None:
        for _ in range(300):
            got = loads_infer(bodies[i])["inputs"][0]["data"]
            if got.tolist() != [float(i)] * 4:
                errors.append(f"thread {i} got {got.tolist()}")

    threads = [threading.Thread(target=parse, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
