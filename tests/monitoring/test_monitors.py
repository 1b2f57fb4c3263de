"""Monitors stored as ``[monitor.NAME]`` tables: run over served traffic, alerts posted to a
real local webhook once per quiet period, due-by-schedule ticks, and clear errors for bad
tables."""

# ruff: noqa: F811 (the fixtures ws and hook are imported from their test modules)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.monitoring.support import frame
from tests.monitoring.test_alerts import Hook, hook  # noqa: F401 (fixture)
from tests.monitoring.test_monitor_window import send, serve, ws  # noqa: F401 (fixture)
from tether.config.settings import read_config_file
from tether.monitoring.monitors import (
    InvalidMonitor,
    MonitorNotFound,
    get_monitor,
    load_monitors,
    parse_monitor,
    run_monitor,
    tick,
)
from tether.workspace import Workspace


def _configure(ws: Workspace, table: str) -> None:
    with ws.config_path.open("a") as f:
        f.write("\n" + table + "\n")


def test_stored_monitor_alerts_the_webhook_once_per_quiet_period(
    ws: Workspace, hook: tuple[str, Hook]
) -> None:
    url, state = hook
    _configure(
        ws,
        f'[monitor.churn]\nmodel = "churn@champion"\nwindow = "1h"\ndrift_share = 0.3\n'
        f'webhook = "{url}"\nquiet_period = "2h"\nschedule = "*/5 * * * *"\n',
    )
    read_config_file(ws.config_path)  # the settings reader lets [monitor.*] sit in the config
    with serve(ws) as server:
        for i in range(3):
            send(server, frame(30 + i, 150, shift=3.0), f"shift{i}")
    now = datetime.now(UTC)
    m = get_monitor(load_monitors(ws.config_path), "churn")

    first = run_monitor(m, ws, now=now)
    assert first.share_drifted == pytest.approx(1 / 3)
    conditions = {b["condition"] for b in state.bodies}
    assert conditions == {"dataset_drift", "drift:a"}
    assert all(b["monitor"] == "churn" for b in state.bodies)
    [event] = ws.store.list_audit(project="mon", action="monitor.drift")
    assert event.detail["drifted"] == ["a"]

    again = run_monitor(m, ws, now=now + timedelta(minutes=30))
    assert (again.sent, again.quiet) == (0, 2)
    assert len(state.bodies) == 2  # not re-sent inside the quiet period

    later = run_monitor(m, ws, now=now + timedelta(hours=3))
    assert later.skipped is not None  # the window holds no traffic by then
    assert later.sent == 0


def test_tick_runs_only_due_monitors(ws: Workspace, hook: tuple[str, Hook]) -> None:
    url, state = hook
    _configure(
        ws,
        f'[monitor.hourly]\nmodel = "churn@champion"\nwebhook = "{url}"\n'
        'schedule = "0 * * * *"\n\n[monitor.manual]\nmodel = "churn@champion"\n',
    )
    with serve(ws) as server:
        send(server, frame(30, 150, shift=3.0), "s")
    now = datetime.now(UTC)
    [first] = tick(ws, now=now)
    assert first.monitor == "hourly"  # the monitor without a schedule is run by hand only
    assert "drift:a" in {b["condition"] for b in state.bodies}
    posted = len(state.bodies)
    assert tick(ws, now=now) == []  # already checked since the schedule last fired
    hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert [o.monitor for o in tick(ws, now=hour)] == ["hourly"]
    assert len(state.bodies) == posted  # inside the default quiet period of an hour


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({}, "monitor.m.model"),
        ({"model": "churn"}, "monitor.m.model"),
        ({"model": "churn@1", "window": "soon"}, "monitor.m.window"),
        ({"model": "churn@1", "drift_share": 2}, "monitor.m.drift_share"),
        ({"model": "churn@1", "webhook": "ftp://x"}, "monitor.m.webhook"),
        ({"model": "churn@1", "schedule": "every hour"}, "monitor.m.schedule"),
        ({"model": "churn@1", "minimum": "high"}, "monitor.m.minimum"),
        ({"model": "churn@1", "treshold": 0.1}, "monitor.m.treshold"),
    ],
)
def test_bad_monitor_table_names_the_key(table: dict, key: str) -> None:
    with pytest.raises(InvalidMonitor, match=f"^{key}"):
        parse_monitor("m", table)


def test_unknown_monitor_lists_the_known(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[monitor.a]\nmodel = "m@1"\n')
    with pytest.raises(MonitorNotFound, match="the monitors are: a"):
        get_monitor(load_monitors(config), "b")


def test_performance_below_minimum_alerts(ws: Workspace, hook: tuple[str, Hook]) -> None:
    import tether.monitoring as tm

    url, state = hook
    _configure(
        ws,
        f'[monitor.perf]\nmodel = "churn@champion"\nmetric = "accuracy"\nminimum = 0.9\n'
        f'webhook = "{url}"\n',
    )
    rows = frame(10, 4)
    with serve(ws) as server:
        predicted = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(4)]
    # every label the opposite of the prediction: accuracy 0
    tm.log_labels("churn", [f"r{i}" for i in range(4)], [1 - int(p) for p in predicted])
    out = run_monitor(get_monitor(load_monitors(ws.config_path), "perf"), ws)
    assert out.performance == 0.0
    [alert] = [b for b in state.bodies if b["condition"].startswith("performance")]
    assert alert["condition"] == "performance:accuracy"
    assert alert["figures"] == {"metric": "accuracy", "value": 0.0, "minimum": 0.9}
    [event] = ws.store.list_audit(project="mon", action="monitor.performance")
    assert event.detail["value"] == 0.0


def test_metrics_serves_the_latest_performance_event(ws: Workspace) -> None:
    import tether.monitoring as tm

    rows = frame(10, 4)
    with serve(ws) as server:
        predicted = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(4)]
        status, _, body = server.request("GET", "/metrics")
        assert status == 200
        assert "tether_performance" not in body.decode()  # nothing measured yet
    # three right, one wrong
    truth = [*predicted[:3], 1 - int(predicted[3])]
    tm.log_labels("churn", [f"r{i}" for i in range(4)], truth)
    tm.model_performance("churn", window="1D")
    with serve(ws) as server:
        status, _, body = server.request("GET", "/metrics")
    text = body.decode()
    assert status == 200
    assert "# TYPE tether_performance gauge" in text
    assert (
        'tether_performance{model="churn",metric="accuracy",version="1",estimated="false"} 0.75'
        in text
    )


def test_metrics_serves_the_estimate_beside_the_measured_performance(ws: Workspace) -> None:
    import tether.monitoring as tm

    rows = frame(11, 4)
    with serve(ws) as server:
        predicted = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(4)]
    tm.log_labels("churn", ["r0", "r1"], predicted[:2])  # two right; two still unlabelled
    tm.model_performance("churn", window="1D")
    [event] = ws.store.list_audit(project="mon", action="monitor.performance")
    assert event.detail["value"] == 1.0
    guess = event.detail["estimated"]
    assert 0.5 <= guess <= 1.0
    with serve(ws) as server:
        _, _, body = server.request("GET", "/metrics")
    text = body.decode()
    labels = 'model="churn",metric="accuracy",version="1"'
    assert f'tether_performance{{{labels},estimated="false"}} 1.0' in text
    assert f'tether_performance{{{labels},estimated="true"}} {guess!r}' in text


def test_html_report_has_a_performance_over_time_section(tmp_path: Path) -> None:
    import re

    import numpy as np
    import pandas as pd

    import tether.monitoring as tm

    # three hourly windows, right on 9 of 10, 7 of 10, 5 of 10 requests
    times = pd.date_range("2026-01-01", periods=30, freq="6min", tz="UTC")
    preds = pd.DataFrame(
        {"request_id": [f"r{i}" for i in range(30)], "prediction": 1, "timestamp": times}
    )
    right = [i < 9 for i in range(10)] + [i < 7 for i in range(10)] + [i < 5 for i in range(10)]
    labels = pd.DataFrame({"request_id": preds["request_id"], "label": np.where(right, 1, 0)})
    table = tm.performance(preds, labels, window="1h")
    assert list(table["accuracy"]) == pytest.approx([0.9, 0.7, 0.5])
    report = tm.drift(frame(0, 500), frame(1, 500))

    page = report.to_html(tmp_path / "r.html", performance=table)
    assert (tmp_path / "r.html").read_text() == page
    section = page[page.index("<h2>Performance over time</h2>") : page.index("<h2>Columns</h2>")]
    figure = re.search(r'data-metric="accuracy".*?</figure>', section)
    assert figure is not None
    [points] = re.findall(r'<polyline points="([^"]+)"', figure.group(0))
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert len(ys) == 3 and ys[0] < ys[1] < ys[2]  # falling accuracy: lower on the plot
    assert section.count("<tr>") == 4  # the header and one row per window
    assert "Performance over time" not in report.to_html()  # only when a table is given


def test_cli_window_report_shows_performance_when_labels_exist(
    ws: Workspace, tmp_path: Path
) -> None:
    import tether.monitoring as tm
    from tests.cli.conftest import run

    rows = frame(10, 4)
    with serve(ws) as server:
        predicted = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(4)]
    assert run("monitor", "window", "churn@champion", "-o", str(tmp_path / "a.html")) == 0
    assert "Performance over time" not in (tmp_path / "a.html").read_text()  # no labels yet
    tm.log_labels("churn", [f"r{i}" for i in range(4)], predicted)
    assert run("monitor", "window", "churn@champion", "-o", str(tmp_path / "b.html")) == 0
    page = (tmp_path / "b.html").read_text()
    assert "Performance over time" in page
    assert 'data-metric="accuracy"' in page
