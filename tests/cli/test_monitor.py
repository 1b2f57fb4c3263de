"""`tether monitor NAME@ALIAS --window`, `tether monitor labels add`, `tether monitor
performance` on a served model whose prediction log holds shifted traffic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tether.models
import tether.monitoring as tm
from tests.monitoring.support import frame
from tests.monitoring.test_monitor_window import send, serve
from tests.monitoring.test_monitor_window import ws as ws
from tether.cli.main import main
from tether.workspace import Workspace

pytest.importorskip("uvicorn")


def tether_cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_monitor_a_served_model_and_its_labels(
    ws: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tether_cli("monitor", "churn@champion", "--window", "1h") == 1
    assert "logged no predictions" in capsys.readouterr().err
    with serve(ws) as server:
        answers = [send(server, frame(40 + i, 100, shift=3.0), f"q{i}")[0] for i in range(3)]
    assert tether_cli("monitor", "churn@champion", "-w", "1h", "-o", str(tmp_path / "r.html")) == 0
    out = capsys.readouterr().out
    assert "1 of 3 columns drifted: a" in out
    assert (tmp_path / "r.html").read_text().startswith("<!")
    assert tether_cli("monitor", "window", "churn@champion", "--json") == 0
    assert json.loads(capsys.readouterr().out)["share_drifted"] == pytest.approx(1 / 3)
    [_, event] = ws.store.list_audit(project="mon", action="monitor.drift")[::-1]
    assert event.detail["drifted"] == ["a"]

    labels = tmp_path / "labels.parquet"
    truth = [answers[0], answers[1], 0]
    pd.DataFrame({"request_id": ["q0", "q1", "zz"], "label": truth}).to_parquet(labels)
    assert tether_cli("monitor", "labels", "add", str(labels), "--model", "churn") == 0
    assert "stored 3 labels for churn" in capsys.readouterr().out
    assert tether_cli("monitor", "performance", "churn", "--window", "1D", "--json") == 0
    out = capsys.readouterr().out
    [row] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert row["accuracy"] == 1.0
    assert row["unlabelled"] == pytest.approx(1 / 3)
    assert "1 labels name request ids the prediction log does not hold" in out


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("id,label\na,1\n", "l.csv", "has no column request_id (it has id, label)"),
        ("request_id,y\na,1\n", "l.csv", "needs the columns request_id and label"),
        ("request_id,label\n", "l.txt", "a label file is .csv or .parquet"),
        ("not parquet", "l.parquet", "cannot be read as parquet"),
    ],
)
def test_bad_label_files_are_refused_and_store_nothing(
    ws: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    name: str,
    message: str,
) -> None:
    (tmp_path / name).write_text(content)
    assert tether_cli("monitor", "labels", "add", str(tmp_path / name), "--model", "churn") == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert ws.store.list_prediction_segments("mon", "churn") == []
    assert tether_cli("monitor", "labels", "add", str(tmp_path / "none.csv"), "-m", "churn") == 1
    assert "no such file" in capsys.readouterr().err


def test_a_fresh_clone_sharing_the_stores_reuses_the_stored_profile(
    ws: Workspace, tmp_path: Path
) -> None:
    """The first check profiles the training data and stores the profile; a second check, in
    a fresh process of another checkout that shares the metadata and object stores (as a
    clone configured with the team's store and bucket would), reads that profile: it neither
    computes one nor reads (or downloads) the training data."""
    with serve(ws) as server:
        for i in range(3):
            send(server, frame(40 + i, 100, shift=3.0), f"q{i}")
    assert tether_cli("monitor", "churn@champion", "-w", "1h") == 0
    [first] = ws.store.list_audit(project="mon", action="monitor.drift")
    assert first.detail["profile"]["stored"] is False
    digest = first.detail["profile"]["digest"]
    assert ws.objects.exists(digest)
    assert (ws.root / ".tether" / "cache" / "datasets").is_dir()  # profiling read the data

    clone = tmp_path / "clone"
    (clone / ".tether").mkdir(parents=True)
    (clone / ".tether" / "config.toml").write_text(
        f'[core]\nproject = "mon"\n\n[store]\nurl = "sqlite:///{ws.root}/.tether/tether.db"\n\n'
        f'[objects]\nurl = "{ws.root}/.tether/objects"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    done = subprocess.run(
        [sys.executable, "-m", "tether", "monitor", "churn@champion", "-w", "1h", "--json"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["drifted_columns"] == ["a"]
    [second, _] = ws.store.list_audit(project="mon", action="monitor.drift")
    assert second.detail["profile"] == {"digest": digest, "stored": True}
    assert not (clone / ".tether" / "cache" / "datasets").exists()  # the data was never read


def test_performance_per_slice_and_the_estimate_before_labels_arrive(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = frame(7, 40)
    with serve(ws) as server:
        answers = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(len(rows))]
    model = tether.models.load("churn@1", workspace=ws)
    p = model.predict_proba(rows[["a", "b", "c"]])[:, 1]
    confidence = np.where(p >= 0.5, p, 1 - p)  # CBPE: a prediction is right with this chance

    # before any label: nothing measured, every prediction estimated (and marked so)
    [before] = tm.model_performance("churn", window="1D", record=False, workspace=ws).to_dict(
        orient="records"
    )
    assert before["labelled"] == 0 and before["unlabelled"] == 1.0
    assert "accuracy" not in before
    assert before["estimated_rows"] == 40
    assert before["estimated_accuracy"] == pytest.approx(confidence.mean())
    assert tether_cli("monitor", "churn@champion", "-w", "1h") == 0
    out = capsys.readouterr().out
    assert (
        f"performance of v1: 40 predictions, 100% unlabelled; estimated accuracy "
        f"{confidence.mean():.3f}"
    ) in out
    assert "(CBPE estimate from the model's probabilities, not measured)" in out

    # labels for the first 30 requests: right for even ones, wrong for odd ones
    truth = [a if i % 2 == 0 else 1 - a for i, a in enumerate(answers[:30])]
    tm.log_labels("churn", [f"r{i}" for i in range(30)], truth, workspace=ws)
    code = tether_cli(
        "monitor", "performance", "churn", "-w", "1D", "--slice", "c == 'x'", "--json"
    )
    assert code == 0
    out = capsys.readouterr().out
    table = {r["slice"]: r for r in map(json.loads, filter(None, out.splitlines()))}
    assert set(table) == {"all", "c == 'x'"}
    every, sliced = table["all"], table["c == 'x'"]
    assert every["predictions"] == 40 and every["labelled"] == 30
    assert every["accuracy"] == pytest.approx(0.5)
    assert every["unlabelled"] == pytest.approx(10 / 40)
    assert every["estimated_rows"] == 10
    assert every["estimated_accuracy"] == pytest.approx(confidence[30:].mean())
    in_slice = (rows["c"] == "x").to_numpy()
    labelled = np.arange(40) < 30
    right = np.arange(40) % 2 == 0
    assert sliced["predictions"] == in_slice.sum()
    assert sliced["labelled"] == (in_slice & labelled).sum()
    assert sliced["accuracy"] == pytest.approx(right[in_slice & labelled].mean())
    assert sliced["estimated_rows"] == (in_slice & ~labelled).sum()
    assert sliced["estimated_accuracy"] == pytest.approx(confidence[in_slice & ~labelled].mean())

    # the text table marks the estimate as one
    assert tether_cli("monitor", "performance", "churn", "-w", "1D", "-s", "c == 'x'") == 0
    out = capsys.readouterr().out
    assert "c == 'x'" in out and "estimated_accuracy" in out
    assert "an estimate (CBPE, from the model's probabilities)" in out
    assert tether_cli("monitor", "churn@champion", "-w", "1h") == 0
    out = capsys.readouterr().out
    assert "40 predictions, 25% unlabelled; accuracy 0.500 on 30 labelled; estimated" in out
    assert tether_cli("monitor", "performance", "churn", "-w", "1D", "--no-estimate") == 0
    assert "estimated" not in capsys.readouterr().out
    assert tether_cli("monitor", "performance", "churn", "--proba", "nope") == 1
    assert "the prediction log of churn has no column 'nope'" in capsys.readouterr().err
    # a slice naming no logged input is a clear error
    assert tether_cli("monitor", "performance", "churn", "--slice", "country == 'DE'") == 1
    err = capsys.readouterr().err
    assert "no column 'country'" in err and len(err.strip().splitlines()) == 1
