"""Unmodified third-party clients: NVIDIA's tritonclient (OIP v2 over HTTP, JSON and binary
tensors) and MLflow's scoring formats on /invocations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.serving.conftest import Running
from tests.serving.test_protocol import ROW


def _client(server: Running):  # type: ignore[no-untyped-def]
    import tritonclient.http as httpclient

    return httpclient.InferenceServerClient(server.url.removeprefix("http://"))


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient_infers(server: Running, model_root, binary: bool) -> None:  # type: ignore[no-untyped-def]
    import tritonclient.http as httpclient

    from tether.models import load_model

    client = _client(server)
    try:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready("lr")
        meta = client.get_model_metadata("lr")
        assert meta["inputs"][0]["name"] == "input-0"
        x = np.array([ROW, [1.0, 2.0, 3.0, 4.0]])
        inp = httpclient.InferInput("input-0", list(x.shape), "FP64")
        inp.set_data_from_numpy(x, binary_data=binary)
        out = httpclient.InferRequestedOutput("predict", binary_data=False)
        result = client.infer("lr", [inp], outputs=[out], request_id="t-1")
        expected = load_model(model_root / "lr" / "1").predict(x)
        assert result.as_numpy("predict").tolist() == expected.tolist()
        assert result.get_response()["id"] == "t-1"
        assert result.get_response()["model_version"] == "1"
    finally:
        client.close()


def test_tritonclient_sends_bytes_tensors(server: Running) -> None:
    import tritonclient.http as httpclient

    client = _client(server)
    try:
        age = httpclient.InferInput("age", [2], "INT64")
        age.set_data_from_numpy(np.array([30, 40], dtype=np.int64))
        plan = httpclient.InferInput("plan", [2], "BYTES")
        plan.set_data_from_numpy(np.array(["pro", "basic"], dtype=object))
        result = client.infer("tab", [age, plan])
        assert result.as_numpy("predict").tolist() == [1, 0]
    finally:
        client.close()


def test_tritonclient_sees_errors(server: Running) -> None:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    client = _client(server)
    try:
        inp = httpclient.InferInput("input-0", [1, 3], "FP64")
        inp.set_data_from_numpy(np.array([[1.0, 2.0, 3.0]]), binary_data=False)
        with pytest.raises(InferenceServerException, match="expected"):
            client.infer("lr", [inp])
    finally:
        client.close()


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["age", "plan"], "data": [[30, "pro"], [40, "basic"]]}},
        {"dataframe_records": [{"age": 30, "plan": "pro"}, {"age": 40, "plan": "basic"}]},
        {"instances": [{"age": 30, "plan": "pro"}, {"age": 40, "plan": "basic"}]},
        {"inputs": {"age": [30, 40], "plan": ["pro", "basic"]}},
    ],
)
def test_mlflow_formats_on_a_table_model(server: Running, body: dict) -> None:  # type: ignore[type-arg]
    status, out = server.json("POST", "/models/tab/invocations", body)
    assert (status, out) == (200, {"predictions": [1, 0]})


def test_mlflow_invocations_on_an_array_model(serve_dir) -> None:  # type: ignore[no-untyped-def]
    with serve_dir(["lr@champion"]) as server:
        status, headers, raw = server.request("POST", "/invocations", {"inputs": [ROW]})
        assert status == 200
        assert headers["x-model-version"] == "1"
        assert len(json.loads(raw)["predictions"]) == 1
        csv = b"a,b,c,d\n0.1,-0.2,0.3,0.4\n"
        status, _, raw = server.request("POST", "/invocations", csv, {"Content-Type": "text/csv"})
        assert status == 200, raw
        status, out = server.json("POST", "/invocations", {"rows": [ROW]})
        assert status == 400
        assert "exactly one of dataframe_split" in out["error"]
        status, out = server.json(
            "POST", "/invocations", {"inputs": [ROW]}, headers={"Content-Type": "text/xml"}
        )
        assert status == 415


def test_invocations_with_several_models_asks_for_the_name(server: Running) -> None:
    status, out = server.json("POST", "/invocations", {"inputs": [ROW]})
    assert status == 400
    assert "/models/NAME/invocations" in out["error"]
