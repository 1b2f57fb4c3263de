"""``tether serve --workers 2``: two processes on one port; ``/metrics`` (whichever worker
answers it) adds both workers' counts up (prometheus-client's multiprocess mode), and the
prediction log holds the requests each worker answered. The access log (``--access-log``,
JSON lines on stderr) says which process answered which request."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.serving.conftest import free_port, wait_ready
from tests.serving.test_protocol import ROW, infer_body
from tether.serving import predictions
from tether.workspace import Workspace

pytestmark = pytest.mark.slow  # three tether processes (each imports scikit-learn): seconds


def _access(path: Path) -> dict[str, int]:
    """request id -> pid of the worker that answered it, from the access-log lines."""
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["path"] == "/v2/models/lr/infer":
                assert entry["status"] == 200, entry
                out[entry["request_id"]] = entry["pid"]
    return out


def _infer(url: str, rid: str) -> None:
    req = urllib.request.Request(
        url + "/v2/models/lr/infer",
        json.dumps(infer_body([ROW])).encode(),
        {"X-Request-ID": rid, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as r:  # a connection of its own
        assert r.status == 200


def _metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        text = r.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_workers_share_metrics_and_both_log_predictions(ws: Workspace, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tether", "serve", "lr@champion", "--port", str(port),
             "--poll", "0", "--workers", "2", "--access-log"],
            stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    sent: list[str] = []
    try:
        wait_ready(url, proc, 120, log.read_text)
        # concurrent requests on fresh connections until both workers have answered some
        with ThreadPoolExecutor(8) as pool:
            for round_ in range(20):
                ids = [f"w{round_}-{i}" for i in range(16)]
                list(pool.map(lambda rid: _infer(url, rid), ids))
                sent += ids
                time.sleep(0.2)  # the access-log lines reach the file
                if len(set(_access(log).values())) == 2:
                    break
        answered = _access(log)
        assert set(answered) == set(sent)
        pids = set(answered.values())
        assert len(pids) == 2, "one worker answered every request"
        # whichever worker answers /metrics reports both workers' requests
        for _ in range(4):
            samples = _metrics(url)
            ok = ("tether_requests_total", (("code", "200"), ("model", "lr"), ("protocol", "v2")))
            assert samples[ok] == len(sent)
            assert samples[("tether_request_seconds_count", (("model", "lr"),))] == len(sent)
            assert samples[("tether_model_version", (("model", "lr"),))] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    # each worker flushed its own segment on SIGTERM; together they hold every request
    frame = predictions("lr", workspace=Workspace(ws.root))
    assert sorted(frame["request_id"]) == sorted(sent)
    for pid in pids:
        mine = {rid for rid, p in answered.items() if p == pid}
        assert mine <= set(frame["request_id"])
    assert len(ws.store.list_prediction_segments("serve", "lr")) >= 2
