"""Open Inference Protocol v2 over REST, on a real server on loopback."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tests.serving.conftest import Running

ROW = [0.1, -0.2, 0.3, 0.4]


def infer_body(rows: list[list[float]], **extra: Any) -> dict[str, Any]:
    flat = [x for r in rows for x in r]
    return {
        "inputs": [{"name": "input-0", "shape": [len(rows), 4], "datatype": "FP64", "data": flat}],
        **extra,
    }


def test_server_metadata_and_health(server: Running) -> None:
    status, meta = server.json("GET", "/v2")
    assert status == 200
    assert meta["name"] == "tether"
    assert "model_repository" in meta["extensions"]
    for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/lr/ready"):
        status, _, body = server.request("GET", path)
        assert (status, body) == (200, b"")
    assert server.request("GET", "/v2/models/lr/versions/1/ready")[0] == 200
    assert server.request("GET", "/v2/models/lr/versions/7/ready")[0] == 400


def test_model_metadata_names_inputs_outputs_and_version(server: Running) -> None:
    status, meta = server.json("GET", "/v2/models/lr")
    assert status == 200
    assert meta["name"] == "lr"
    assert meta["versions"] == ["1"]
    assert meta["platform"] == "tether-sklearn"
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}]
    assert meta["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]}]
    status, tab = server.json("GET", "/v2/models/tab/versions/1")
    assert status == 200
    assert tab["inputs"] == [
        {"name": "age", "datatype": "INT64", "shape": [-1]},
        {"name": "plan", "datatype": "BYTES", "shape": [-1]},
    ]


def test_infer_returns_the_models_predictions(server: Running, model_root: Any) -> None:
    from tether.models import load_model

    rows = [ROW, [1.0, 2.0, -1.0, 0.5], [-3.0, 0.0, 0.0, 1.0]]
    status, headers, raw = server.request(
        "POST", "/v2/models/lr/infer", infer_body(rows, id="abc"), {"X-Request-ID": "r-1"}
    )
    import json

    out = json.loads(raw)
    assert status == 200
    assert headers["x-request-id"] == "r-1"
    assert headers["x-model-version"] == "1"
    assert out["model_name"] == "lr"
    assert out["model_version"] == "1"
    assert out["id"] == "abc"
    expected = load_model(model_root / "lr" / "1").predict(np.array(rows))
    assert out["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [3], "data": expected.tolist()}
    ]


def test_large_bodies_parsed_into_arrays_answer_as_small_ones(
    server: Running, model_root: Any
) -> None:
    """Bodies from SIMDJSON_FROM bytes on take the simdjson path (numbers straight into an
    array): flat, nested and FP32 give the model's predictions; a ragged one is refused."""
    from tether.models import load_model
    from tether.serving.jsonio import SIMDJSON_FROM

    rows = np.random.default_rng(7).normal(size=(120, 4)).round(6)
    flat = infer_body(rows.tolist())
    assert len(json.dumps(flat)) >= SIMDJSON_FROM
    expected = load_model(model_root / "lr" / "1").predict(rows).tolist()
    nested = {"inputs": [{**flat["inputs"][0], "data": rows.tolist(), "datatype": "FP32"}]}
    for body in (flat, nested):
        status, out = server.json("POST", "/v2/models/lr/infer", body)
        assert status == 200, out
        got = out["outputs"][0]["data"]
        if body is flat:
            assert got == expected
        else:  # float32 inputs: the same as the model gives on float32
            want = load_model(model_root / "lr" / "1").predict(rows.astype("float32"))
            assert got == want.tolist()
    # 480 numbers, as the shape holds, in rows of 3, 4 and 5 values: still refused
    uneven = [[0.5] * 3, *rows.tolist()[1:119], [1.0] * 5]
    ragged = {"inputs": [{**flat["inputs"][0], "data": uneven}]}
    status, out = server.json("POST", "/v2/models/lr/infer", ragged)
    assert status == 400 and "input-0" in out["error"], out


def test_nested_data_and_versioned_path(server: Running) -> None:
    body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [ROW]}]}
    status, out = server.json("POST", "/v2/models/lr/versions/1/infer", body)
    assert status == 200
    assert out["outputs"][0]["shape"] == [1]
    status, out = server.json("POST", "/v2/models/lr/versions/2/infer", body)
    assert status == 404
    assert "version 2 is not served" in out["error"]


def test_table_model_takes_columns_with_bytes(server: Running) -> None:
    body = {
        "inputs": [
            {"name": "age", "shape": [2], "datatype": "INT64", "data": [30, 40]},
            {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["pro", "basic"]},
        ],
        "parameters": {"content_type": "pd"},
    }
    status, out = server.json("POST", "/v2/models/tab/infer", body)
    assert status == 200, out
    assert out["outputs"][0]["data"] == [1, 0]


def test_request_id_is_generated_when_absent(server: Running) -> None:
    ids = []
    for _ in range(3):
        status, headers, _ = server.request("POST", "/v2/models/lr/infer", infer_body([ROW]))
        assert status == 200
        ids.append(headers["x-request-id"])
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len(set(ids)) == 3


def test_generated_request_ids_differ_between_processes_and_forks() -> None:
    """Ids are a random prefix drawn per process and a counter: a forked worker (which
    starts with its parent's memory) draws its own prefix."""
    import os
    import subprocess
    import sys

    from tether.serving.asgi import _new_id

    code = "from tether.serving.asgi import _new_id; print(_new_id())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.returncode == 0, other.stderr
    mine = _new_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first id, then out
        os.write(write, _new_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    forked = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    prefixes = {mine[:16], other.stdout.strip()[:16], forked[:16]}
    assert len(prefixes) == 3


def test_repository_index_lists_models(server: Running) -> None:
    status, index = server.json("POST", "/v2/repository/index", {})
    assert status == 200
    assert {m["name"]: (m["version"], m["state"]) for m in index} == {
        "lr": ("1", "READY"),
        "tab": ("1", "READY"),
    }


def test_an_unusable_request_id_is_replaced(server: Running) -> None:
    status, headers, _ = server.request(
        "POST", "/v2/models/lr/infer", infer_body([ROW]), {"X-Request-ID": "x" * 500}
    )
    assert status == 200
    assert len(headers["x-request-id"]) == 32
