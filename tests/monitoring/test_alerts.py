"""Alerts reach a real local HTTP server as JSON; the same condition stays quiet inside the
quiet period (across Alerter instances, as across processes); a failing webhook is retried."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tether.monitoring as tm
from tether.monitoring.alerts import Alerter, alerts_for


class Hook:
    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200


@pytest.fixture
def hook() -> Iterator[tuple[str, Hook]]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.status == 200:
                state.bodies.append(json.loads(body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass  # no access lines in the test output

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", state
    server.shutdown()
    server.server_close()


def _report() -> tm.DriftReport:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2_000), "y": rng.normal(0, 1, 2_000)})
    cur = pd.DataFrame({"x": rng.normal(1, 1, 2_000), "y": rng.normal(0, 1, 2_000)})
    return tm.drift(ref, cur)


def test_webhook_receives_alerts_once_per_quiet_period(
    hook: tuple[str, Hook], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, server = hook
    alerts = alerts_for(_report(), "churn@prod")
    assert [a.condition for a in alerts] == ["dataset_drift", "drift:x"]
    t0 = datetime(2026, 12, 6, 12, tzinfo=UTC)
    state = tmp_path / "alerts.json"
    with caplog.at_level(logging.WARNING, logger="tether.monitoring"):
        first = Alerter(state, webhook=url).send(alerts, now=t0)
    assert len(first.sent) == 2 and not first.quiet
    assert [b["condition"] for b in server.bodies] == ["dataset_drift", "drift:x"]
    assert server.bodies[1]["figures"]["column"] == "x"
    assert "churn@prod: x drifted" in caplog.text
    # a new Alerter on the same state: inside the quiet period nothing is re-sent
    again = Alerter(state, webhook=url).send(alerts, now=t0 + timedelta(minutes=30))
    assert len(again.quiet) == 2 and not again.sent and len(server.bodies) == 2
    later = Alerter(state, webhook=url).send(alerts, now=t0 + timedelta(hours=2))
    assert len(later.sent) == 2 and len(server.bodies) == 4


def test_failed_webhook_is_not_counted_as_sent(hook: tuple[str, Hook], tmp_path: Path) -> None:
    url, server = hook
    alerts = alerts_for(_report(), "m")
    server.status = 500
    t0 = datetime(2026, 12, 6, 12, tzinfo=UTC)
    failed = Alerter(tmp_path / "a.json", webhook=url).send(alerts, now=t0)
    assert [e for _, e in failed.failed] == ["HTTP 500", "HTTP 500"] and not failed.sent
    server.status = 200
    retried = Alerter(tmp_path / "a.json", webhook=url).send(alerts, now=t0)
    assert len(retried.sent) == 2


def test_bad_alerter_settings(tmp_path: Path) -> None:
    with pytest.raises(tm.BadSetting, match="webhook"):
        Alerter(tmp_path / "a.json", webhook="ftp://x")
    with pytest.raises(tm.BadSetting, match="quiet_period"):
        Alerter(tmp_path / "a.json", quiet_period=timedelta(seconds=-1))
