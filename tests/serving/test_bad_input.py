"""Bad requests get a 4xx with ``{"error": ...}`` naming what was wrong; the server keeps
serving afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.serving.conftest import Running
from tests.serving.test_protocol import ROW, infer_body
from tether.serving.runtime import Options


def tensor(**kw: Any) -> dict[str, Any]:
    base = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}
    return {"inputs": [{**base, **kw}]}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        ({"inputs": []}, 400, "non-empty list"),
        (tensor(shape=[2, 4]), 400, "data has 4 values but shape [2, 4] holds 8"),
        (tensor(shape=[1, 5], data=[*ROW, 1.0]), 400, "input-0"),
        (tensor(datatype="FP99"), 400, "unknown datatype 'FP99'"),
        (tensor(datatype="INT64"), 400, "floating-point values, not INT64"),
        (tensor(data=[0.1, None, 0.3, 0.4]), 400, "mixed or null"),
        (tensor(data=[0.1, float("nan"), 0.3, 0.4]), 400, "input"),
        (tensor(name="x"), 400, "unknown input 'x'; the model takes input-0"),
        (tensor(data=[[0.1, 0.2], [0.3]]), 400, "does not fill shape"),
        (tensor(shape=[-1, 4]), 400, "shape must be a list of whole numbers"),
        ({**tensor(), "outputs": [{"name": "proba"}]}, 400, "unknown output 'proba'"),
        ({**tensor(), "id": 5}, 400, "'id' must be a string"),
    ],
)
def test_bad_infer_request(server: Running, body: Any, status: int, words: str) -> None:
    got, _, raw = server.request("POST", "/v2/models/lr/infer", body)
    import json

    out = json.loads(raw)
    assert got == status, out
    assert set(out) == {"error"}
    assert words in out["error"]
    assert server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))[0] == 200


def test_nan_where_the_signature_forbids_it_names_the_input(server: Running) -> None:
    status, out = server.json("POST", "/v2/models/lr/infer", tensor(data=[0.1, float("nan"), 0, 0]))
    assert status == 400
    assert "missing values" in out["error"] or "NaN" in out["error"] or "null" in out["error"]


def test_table_model_names_the_missing_and_mistyped_column(server: Running) -> None:
    age = {"name": "age", "shape": [1], "datatype": "INT64", "data": [30]}
    plan = {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]}
    status, out = server.json("POST", "/v2/models/tab/infer", {"inputs": [age]})
    assert status == 400
    assert "'plan'" in out["error"]
    bad_age = {**age, "datatype": "BYTES", "data": ["thirty"]}
    status, out = server.json("POST", "/v2/models/tab/infer", {"inputs": [bad_age, plan]})
    assert status == 400
    assert "'age'" in out["error"]
    status, out = server.json(
        "POST", "/v2/models/tab/infer", {"inputs": [age, {**plan, "data": [3]}]}
    )
    assert status == 400
    assert "BYTES data must be strings" in out["error"]


def test_unknown_model_is_404_everywhere(server: Running) -> None:
    for method, path in [
        ("GET", "/v2/models/nope"),
        ("GET", "/v2/models/nope/ready"),
        ("POST", "/v2/models/nope/infer"),
        ("POST", "/v2/repository/models/nope/load"),
    ]:
        status, out = server.json(method, path, infer_body([ROW]) if method == "POST" else None)
        assert status == 404, path
        assert out == {"error": "model 'nope' is not served here; served models: lr, tab"}


def test_wrong_content_type_is_415(server: Running) -> None:
    status, out = server.json(
        "POST", "/v2/models/lr/infer", infer_body([ROW]), headers={"Content-Type": "text/plain"}
    )
    assert status == 415
    assert "application/json" in out["error"]


def test_body_over_the_limit_is_413(serve_dir: Callable[..., Any]) -> None:
    with serve_dir(["lr@champion"], options=Options(poll_s=0, max_body=1000)) as server:
        big = infer_body([ROW] * 100)
        status, out = server.json("POST", "/v2/models/lr/infer", big)
        assert status == 413
        assert "limit of 1000 bytes" in out["error"]
        assert server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))[0] == 200
