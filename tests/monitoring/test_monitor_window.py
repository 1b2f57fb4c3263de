"""A served model monitored against its training data (found through lineage): a window of its
prediction log over shifted traffic flags the shifted columns and records the monitor.drift
event the loop's drift trigger reads; delayed labels joined to the log across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tether.monitoring as tm
from tests.monitoring.support import churn_workspace, frame, isolated_workspace
from tests.serving.conftest import run_server
from tether.automation.policy import parse_loop
from tether.automation.signals import find_signals
from tether.tracking.session import close_sessions
from tether.workspace import Workspace

pytest.importorskip("uvicorn")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """Project ``mon``: dataset train@1, model churn@1 trained on it (alias champion)."""
    workspace = churn_workspace(
        isolated_workspace(tmp_path, monkeypatch), lambda d: (d["a"] > 0).astype(int)
    )
    yield workspace
    workspace.close()
    close_sessions()


def serve(ws: Workspace) -> Any:
    from tether.serving import app
    from tether.serving.runtime import Options

    return run_server(
        app(["churn@champion"], workspace=ws, options=Options(poll_s=0),
            log_kwargs={"flush_s": 0.05}),
        ws.root,
    )  # fmt: skip


def send(server: Any, rows: pd.DataFrame, request_id: str) -> list[Any]:
    body = {"dataframe_records": rows.to_dict(orient="records")}
    status, out = server.json("POST", "/invocations", body, headers={"X-Request-ID": request_id})
    assert status == 200, out
    return list(out["predictions"])


def test_window_over_shifted_traffic_flags_the_shifted_column(ws: Workspace) -> None:
    t0 = datetime.now(UTC)
    with serve(ws) as server:
        for i in range(3):
            send(server, frame(10 + i, 150), f"calm{i}")
        mid = datetime.now(UTC)
        for i in range(3):
            send(server, frame(30 + i, 150, shift=3.0), f"shift{i}")
    end = datetime.now(UTC)

    calm = tm.monitor("churn@champion", window=mid - t0, end=mid)
    assert calm.drifted_columns == []
    shifted = tm.monitor("churn@champion", window=end - mid, end=end)
    assert shifted.drifted_columns == ["a"]
    assert {c.column for c in shifted.features} == {"a", "b", "c"}

    [latest, first] = ws.store.list_audit(project="mon", action="monitor.drift")
    assert latest.target == "churn"
    assert latest.detail["share_drifted"] == pytest.approx(1 / 3)
    assert latest.detail["drifted"] == ["a"]
    assert latest.detail["reference"] == "train@1"
    assert latest.detail["rows"] == 450
    assert first.detail["share_drifted"] == 0.0

    # the loop's drift trigger reads the event as it is written
    policy = parse_loop(
        "l",
        {"model": "churn", "pipeline": "p:p", "dataset": "train", "target": "y",
         "gate": {"primary": "accuracy"}, "triggers": {"drift": 0.3}},
    )  # fmt: skip
    [signal] = find_signals(policy, ws.store, "mon", end, scheduled_before=False)
    assert signal.kind == "drift"
    assert signal.detail["event"] == latest.id

    # the server's /metrics serves the latest event's figures as gauges
    with serve(ws) as server:
        status, _, body = server.request("GET", "/metrics")
    text = body.decode()
    assert status == 200
    assert 'tether_drift_share{model="churn"} 0.333' in text
    assert 'tether_drift{model="churn",column="a"} 1.0' in text
    assert 'tether_drift{model="churn",column="b"} 0.0' in text
    assert 'tether_drift_score{model="churn",column="a",test="' in text


def test_an_empty_window_is_a_clear_error(ws: Workspace) -> None:
    with pytest.raises(tm.EmptyWindow, match="logged no predictions"):
        tm.monitor("churn@champion", window="1h")
    assert ws.store.list_audit(project="mon", action="monitor.drift") == []
    with serve(ws) as server:  # no event yet: no drift gauges, and /metrics still answers
        status, _, body = server.request("GET", "/metrics")
    assert status == 200
    assert b"tether_drift" not in body
    with pytest.raises(tm.BadSetting, match="not a duration"):
        tm.monitor("churn@champion", window="soon")


def test_labels_are_joined_across_a_server_restart(ws: Workspace) -> None:
    rows = frame(5, 8)
    with serve(ws) as server:
        first = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(4)]
    # labels for the first requests arrive between restarts: two right, two wrong
    truth = [first[0], first[1], 1 - first[2], 1 - first[3]]
    assert tm.log_labels("churn", ["r0", "r1", "r2", "r3"], truth) == 4
    with serve(ws) as server:
        later = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(4, 8)]
    tm.log_labels("churn", ["r4", "r5", "nobody"], [later[0], later[1], 1])
    table = tm.model_performance("churn", window="1D")
    assert table["predictions"].sum() == 8
    assert table["labelled"].sum() == 6
    assert table.attrs["unknown_labels"] == 1
    [row] = table.to_dict(orient="records")
    assert row["accuracy"] == pytest.approx(4 / 6)
    assert row["unlabelled"] == pytest.approx(2 / 8)
    [event] = ws.store.list_audit(project="mon", action="monitor.performance")
    assert event.target == "churn"
    assert event.detail["metric"] == "accuracy"
    assert event.detail["value"] == pytest.approx(4 / 6)
    assert event.detail["unknown_labels"] == 1
    # stored labels survive: a fresh workspace handle reads them back
    with Workspace(ws.root) as again:
        assert sorted(tm.read_labels("churn", workspace=again)["request_id"]) == [
            "nobody", "r0", "r1", "r2", "r3", "r4", "r5",
        ]  # fmt: skip


def test_bad_labels_are_refused_and_store_nothing(ws: Workspace) -> None:
    with pytest.raises(tm.BadLabels, match="2 request ids but 1 labels"):
        tm.log_labels("churn", ["a", "b"], [1])
    with pytest.raises(tm.BadLabels, match="not a model name"):
        tm.log_labels("churn@champion", ["a"], [1])
    with pytest.raises(tm.BadLabels, match="label is empty"):
        tm.log_labels("churn", ["a"], [None])
    assert tm.read_labels("churn").empty
