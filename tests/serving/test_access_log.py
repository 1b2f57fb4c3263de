"""Structured access logs: with ``access_log`` on, one JSON line per request on the
``tether.serving.access`` logger (time, request id, method, path, status, model, version,
latency, process id); with it off (the default), none."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.serving.test_protocol import ROW, infer_body

LOGGER = "tether.serving.access"


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_each_request_writes_one_json_line(
    serve_dir: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    import os

    caplog.set_level(logging.INFO, logger=LOGGER)
    before = datetime.now(UTC) - timedelta(seconds=1)
    with serve_dir(["lr@champion"], access_log=True) as server:
        ok = server.request(
            "POST", "/v2/models/lr/infer", infer_body([ROW]), headers={"X-Request-ID": "acc-1"}
        )
        bad = server.request("POST", "/v2/models/lr/infer", b"{not json")
        meta = server.request("GET", "/v2/models/lr")
        unknown = server.request("POST", "/v2/models/nope/infer", infer_body([ROW]))
        mlflow = server.request("POST", "/invocations", {"inputs": [ROW]})
    assert [ok[0], bad[0], meta[0], unknown[0], mlflow[0]] == [200, 400, 200, 404, 200]
    lines = _lines(caplog)
    assert [(x["method"], x["path"], x["status"], x["model"], x["version"]) for x in lines] == [
        ("POST", "/v2/models/lr/infer", 200, "lr", 1),
        ("POST", "/v2/models/lr/infer", 400, "lr", 1),
        ("GET", "/v2/models/lr", 200, "lr", 1),
        ("POST", "/v2/models/nope/infer", 404, "nope", None),
        ("POST", "/invocations", 200, "lr", 1),
    ]
    # the id the client sent, else the one the response carried
    assert lines[0]["request_id"] == "acc-1"
    assert lines[1]["request_id"] == bad[1]["x-request-id"]
    assert lines[4]["request_id"] == mlflow[1]["x-request-id"]
    for line in lines:
        assert set(line) == {
            "time", "request_id", "method", "path", "status", "model", "version", "latency_ms",
            "pid",
        }  # fmt: skip
        assert before <= datetime.fromisoformat(line["time"]) <= datetime.now(UTC)
        assert line["latency_ms"] > 0
        assert line["pid"] == os.getpid()  # the server runs in a thread of this process


def test_no_access_log_unless_asked(
    serve_dir: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with serve_dir(["lr@champion"]) as server:
        assert server.request("POST", "/v2/models/lr/infer", infer_body([ROW]))[0] == 200
        assert server.request("GET", "/v2/models/lr")[0] == 200
    assert _lines(caplog) == []
