"""Hot swap: when the alias moves the server loads and warms the new version beside the old
one and switches atomically: no request fails and none mixes versions. A version that cannot
be loaded leaves the previous one serving and is reported."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.serving.conftest import Running, set_alias
from tests.serving.test_protocol import infer_body
from tether.serving.runtime import Options

ROWS = np.random.default_rng(1).normal(size=(5, 4)).round(3).tolist()


def _expected(root: Path) -> dict[str, list[int]]:
    from tether.models import load_model

    return {
        str(v): load_model(root / "lr" / str(v)).predict(np.array(ROWS)).tolist() for v in (1, 2)
    }


def _hammer(server: Running, stop: threading.Event, seen: list[tuple[int, str, Any]]) -> None:
    while not stop.is_set():
        status, headers, raw = server.request("POST", "/v2/models/lr/infer", infer_body(ROWS))
        out = json.loads(raw)
        version = headers.get("x-model-version", "?")
        seen.append((status, version, out))


def _swap_under_load(server: Running, move: Callable[[], None]) -> list[tuple[int, str, Any]]:
    stop = threading.Event()
    results: list[list[tuple[int, str, Any]]] = [[] for _ in range(6)]
    threads = [threading.Thread(target=_hammer, args=(server, stop, r)) for r in results]
    for t in threads:
        t.start()
    try:
        while sum(map(len, results)) < 60:
            stop.wait(0.01)
        move()
        deadline = time.monotonic() + 30
        while server.json("GET", "/v2/models/lr")[1]["versions"] != ["2"]:
            assert time.monotonic() < deadline, "the alias move was not followed in 30 s"
            stop.wait(0.02)
        n = sum(map(len, results))
        while sum(map(len, results)) < n + 60:
            stop.wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    expected = _expected(server.root)
    for per_client in results:
        versions = [v for _, v, _ in per_client]
        assert versions == sorted(versions), "a client went back to the old version"
        for status, version, out in per_client:
            assert status == 200, out
            assert out["model_version"] == version  # body and header agree
            assert out["outputs"][0]["data"] == expected[version]  # no mixed batch
    return [s for r in results for s in r]


def test_load_request_swaps_under_load_without_a_failure(serve_dir: Callable[..., Any]) -> None:
    with serve_dir(["lr@champion"]) as server:

        def move() -> None:
            set_alias(server.root, "lr", "champion", 2)
            status, headers, _ = server.request("POST", "/v2/repository/models/lr/load", {})
            assert (status, headers["x-model-version"]) == (200, "2")

        seen = _swap_under_load(server, move)
        assert {v for _, v, _ in seen} == {"1", "2"}
        assert server.json("GET", "/v2/models/lr")[1]["versions"] == ["2"]


def test_polling_follows_the_alias(serve_dir: Callable[..., Any]) -> None:
    with serve_dir(["lr@champion"], options=Options(poll_s=0.05, model_thread=True)) as server:
        seen = _swap_under_load(server, lambda: set_alias(server.root, "lr", "champion", 2))
        assert {v for _, v, _ in seen} == {"1", "2"}
        text = server.request("GET", "/metrics")[2]
        assert b'tether_model_version{model="lr"} 2.0' in text


def test_corrupted_version_keeps_the_previous_one_serving(
    serve_dir: Callable[..., Any], model_root: Path
) -> None:
    bad = model_root / "lr" / "3"
    if not bad.exists():
        shutil.copytree(model_root / "lr" / "1", bad)
        skops = bad / "model.skops"
        skops.write_bytes(skops.read_bytes()[:-10] + b"0123456789")
    with serve_dir(["lr@champion"]) as server:
        set_alias(server.root, "lr", "champion", 3)
        status, out = server.json("POST", "/v2/repository/models/lr/load", {})
        assert status == 400
        assert "version 3 could not be served" in out["error"]
        assert server.json("GET", "/v2/models/lr")[1]["versions"] == ["1"]
        assert server.json("POST", "/v2/models/lr/infer", infer_body(ROWS))[0] == 200
        index = server.json("POST", "/v2/repository/index", {})[1]
        assert index[0]["version"] == "1"
        assert "could not be served" in index[0]["reason"]
        metrics = server.request("GET", "/metrics")[2]
        assert b'tether_reload_failures_total{model="lr"} 1.0' in metrics


def test_a_model_named_twice_is_refused(model_root: Path) -> None:
    import pytest

    from tether.serving import DirectorySource, ServingError, app

    with pytest.raises(ServingError, match="'lr' is named twice"):
        app(["lr@champion", "lr@2"], source=DirectorySource(model_root), log_predictions=False)
