"""One positive class for measured and estimated performance (the model's ``classes_[1]``, as
evaluation and scikit-learn, or an explicit one), labels checked against the model's classes,
and the multiclass CBPE estimate, on served models whose labels arrive later."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

import tether
import tether.models
import tether.monitoring as tm
from tests.monitoring.support import churn_workspace, frame, isolated_workspace
from tests.monitoring.test_monitor_window import send, serve
from tether.cli.main import main
from tether.tracking.session import close_sessions
from tether.workspace import Workspace

pytest.importorskip("uvicorn")

TARGETS = {
    # binary, text labels: classes_ == ["no", "yes"], so "yes" is the positive class
    "text": lambda d: np.where(d["a"] + 0.5 * d["b"] > 0, "yes", "no"),
    # three classes
    "multi": lambda d: np.digitize(d["a"] + 0.5 * d["b"], [-0.6, 0.6]),
}


@pytest.fixture
def ws(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """Project ``mon``: model churn@1 (alias champion) fitted to the target ``request.param``."""
    workspace = churn_workspace(isolated_workspace(tmp_path, monkeypatch), TARGETS[request.param])
    yield workspace
    workspace.close()
    close_sessions()


def cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def served(ws: Workspace, n: int = 60) -> tuple[pd.DataFrame, list[Any], np.ndarray]:
    """``n`` requests r0.. answered one by one: the rows, the answers, the probabilities."""
    rows = frame(11, n)
    with serve(ws) as server:
        answers = [send(server, rows.iloc[[i]], f"r{i}")[0] for i in range(n)]
    model = tether.models.load("churn@1", workspace=ws)
    return rows, answers, model.predict_proba(rows[["a", "b", "c"]])


def binary_estimate(p: np.ndarray) -> dict[str, float]:
    """CBPE by hand: p is the positive class's probability."""
    called = p >= 0.5
    tp, fp = p[called].sum(), (1 - p[called]).sum()
    fn, tn = p[~called].sum(), (1 - p[~called]).sum()
    return {
        "accuracy": (tp + tn) / len(p),
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
    }


@pytest.mark.parametrize("ws", ["text"], indirect=True)
def test_text_labels_score_the_models_second_class_measured_and_estimated(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, answers, proba = served(ws)
    assert set(answers) <= {"no", "yes"}
    # the truth differs from the model on some rows, in both directions
    truth = TARGETS["text"](rows.assign(a=rows["a"] + np.where(np.arange(60) % 3 == 0, 0.8, -0.3)))
    labelled = np.arange(60) < 45  # 15 labels have not arrived yet
    tm.log_labels("churn", [f"r{i}" for i in range(45)], list(truth[:45]), workspace=ws)

    [row] = tm.model_performance("churn", window="1D", record=False, workspace=ws).to_dict(
        orient="records"
    )
    y, pred = truth[:45], np.asarray(answers[:45])
    assert row["labelled"] == 45 and row["estimated_rows"] == 15
    assert row["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert row["precision"] == pytest.approx(precision_score(y, pred, pos_label="yes"))
    assert row["recall"] == pytest.approx(recall_score(y, pred, pos_label="yes"))
    assert row["f1"] == pytest.approx(f1_score(y, pred, pos_label="yes"))
    assert 0 < row["precision"] < 1 and 0 < row["recall"] < 1
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y == "yes", proba[:45, 1]))
    # the same figures as `tether models evaluate` on the labelled rows: one positive class
    from tether.models.evaluation import evaluate

    model = tether.models.load("churn@1", workspace=ws)
    ev = evaluate(model, rows.iloc[:45].assign(y=y), target="y", latency=False)
    assert row["f1"] == pytest.approx(ev.metrics["f1"])
    assert row["roc_auc"] == pytest.approx(ev.metrics["roc_auc"])
    # the estimate scores the same class: the probability of classes_[1] == "yes"
    expected = binary_estimate(proba[~labelled, 1])
    for m, value in expected.items():
        assert row[f"estimated_{m}"] == pytest.approx(value)

    # --positive no: both the measurement and the estimate score "no" instead
    table = tm.model_performance("churn", window="1D", positive="no", record=False, workspace=ws)
    assert table.attrs["positive"] == {1: "no"}
    [row] = table.to_dict(orient="records")
    assert row["precision"] == pytest.approx(precision_score(y, pred, pos_label="no"))
    assert row["recall"] == pytest.approx(recall_score(y, pred, pos_label="no"))
    assert row["f1"] == pytest.approx(f1_score(y, pred, pos_label="no"))
    for m, value in binary_estimate(proba[~labelled, 0]).items():
        assert row[f"estimated_{m}"] == pytest.approx(value)

    assert cli("monitor", "performance", "churn", "-w", "1D") == 0
    assert "v1: precision, recall and F1 of the positive class 'yes'" in capsys.readouterr().out
    [event] = ws.store.list_audit(project="mon", action="monitor.performance")
    assert event.detail["positive"] == "yes"
    assert cli("monitor", "performance", "churn", "-w", "1D", "--positive", "no", "--json") == 0
    [out] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert out["precision"] == pytest.approx(precision_score(y, pred, pos_label="no"))
    # a positive class the model does not have is a one-line error
    assert cli("monitor", "performance", "churn", "--positive", "maybe") == 1
    err = capsys.readouterr().err
    assert "'maybe' is not one of the model's classes ('no', 'yes')" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("ws", ["text"], indirect=True)
def test_a_label_that_is_not_a_class_is_refused_and_nothing_is_stored(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served(ws, n=4)
    with pytest.raises(tm.BadLabels, match=r"label 'Yes' is not one of the classes of churn"):
        tm.log_labels("churn", ["r0", "r1"], ["no", "Yes"], workspace=ws)
    with pytest.raises(tm.BadLabels, match=r"label 1 is not one of the classes"):
        tm.log_labels("churn", ["r0"], [1], workspace=ws)
    (tmp_path / "l.csv").write_text("request_id,label\nr0,yes\nr1,YES\n")
    assert cli("monitor", "labels", "add", str(tmp_path / "l.csv"), "--model", "churn") == 1
    err = capsys.readouterr().err
    assert "'YES' is not one of the classes of churn ('no', 'yes')" in err
    assert tm.read_labels("churn", workspace=ws).empty
    assert ws.store.list_audit(project="mon", action="monitor.performance") == []
    # right labels are stored
    assert tm.log_labels("churn", ["r0", "r1"], ["yes", "no"], workspace=ws) == 2


@pytest.mark.parametrize("ws", ["multi"], indirect=True)
def test_multiclass_estimate_is_the_expected_confusion_matrix_of_predict_proba(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, answers, proba = served(ws)
    assert proba.shape == (60, 3) and set(answers) == {0, 1, 2}
    truth = TARGETS["multi"](rows.assign(a=rows["a"] + np.where(np.arange(60) % 4 == 0, 1.0, 0)))
    tm.log_labels("churn", [f"r{i}" for i in range(40)], truth[:40].tolist(), workspace=ws)
    table = tm.model_performance("churn", window="1D", record=False, workspace=ws)
    assert table.attrs["macro"] == [1] and table.attrs["positive"] == {}
    [row] = table.to_dict(orient="records")

    # measured on the 40 labelled: scikit-learn's macro averages
    y, pred = truth[:40], np.asarray(answers[:40])
    assert row["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert row["precision"] == pytest.approx(precision_score(y, pred, average="macro"))
    assert row["recall"] == pytest.approx(recall_score(y, pred, average="macro"))
    assert row["f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert set(y) == {0, 1, 2}
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:40], multi_class="ovr"))

    # estimated on the 20 unlabelled, by hand from predict_proba
    p = proba[40:]
    called = p.argmax(axis=1)
    precision, recall, f1 = [], [], []
    for k in range(3):
        tp = sum(p[i, k] for i in range(20) if called[i] == k)
        fp = sum(1 - p[i, k] for i in range(20) if called[i] == k)
        fn = sum(p[i, k] for i in range(20) if called[i] != k)
        precision.append(tp / (tp + fp) if tp + fp else 0.0)
        recall.append(tp / (tp + fn))
        f1.append(2 * tp / (2 * tp + fp + fn))
    assert row["estimated_rows"] == 20
    assert row["estimated_accuracy"] == pytest.approx(np.mean([max(r) for r in p]))
    assert row["estimated_precision"] == pytest.approx(np.mean(precision))
    assert row["estimated_recall"] == pytest.approx(np.mean(recall))
    assert row["estimated_f1"] == pytest.approx(np.mean(f1))
    # ROC AUC: each class against the rest, the pairs a calibrated score implies (ties half)
    aucs = []
    for k in range(3):
        s_k = p[:, k]
        wins = (s_k[:, None] > s_k[None, :]) + 0.5 * (s_k[:, None] == s_k[None, :])
        pairs = s_k[:, None] * (1 - s_k)[None, :]
        aucs.append((pairs * wins).sum() / (s_k.sum() * (1 - s_k).sum()))
    assert row["estimated_roc_auc"] == pytest.approx(np.mean(aucs))

    assert cli("monitor", "performance", "churn", "-w", "1D") == 0
    out = capsys.readouterr().out
    assert "v1: precision, recall and F1 are macro averages over its classes" in out
    assert "estimated_*: an estimate (CBPE" in out
    # a positive class means nothing to a multiclass model: said, not guessed
    assert cli("monitor", "performance", "churn", "--positive", "1") == 1
    assert "applies to a binary classifier; this model has 3 classes" in capsys.readouterr().err
    # regression gets no estimate, and says so
    table = tm.model_performance(
        "churn", window="1D", task="regression", record=False, workspace=ws
    )
    assert not any(c.startswith("estimated_") for c in table.columns)
    assert "CBPE estimates classification only" in table.attrs["no_estimate"]
    assert cli("monitor", "performance", "churn", "-w", "1D", "--task", "regression") == 0
    assert "no estimate for task 'regression'" in capsys.readouterr().out
    # a label the model does not know is refused
    with pytest.raises(tm.BadLabels, match="label 7 is not one of the classes of churn"):
        tm.log_labels("churn", ["r50"], [7], workspace=ws)


def test_numeric_labels_two_and_five_score_five_as_positive() -> None:
    """Labels 2 and 5: the positive class is 5 (classes_[1]), not a literal 1."""
    rng = np.random.default_rng(3)
    y = rng.choice([2, 5], 200)
    pred = np.where(rng.uniform(size=200) < 0.8, y, 7 - y)
    log = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(200)],
            "timestamp": pd.Timestamp("2026-12-06", tz="UTC"),
            "prediction": pred,
        }
    )
    labels = pd.DataFrame({"request_id": log.request_id, "label": y})
    for kwargs, pos in [({}, 5), ({"classes": [2, 5]}, 5), ({"positive": 2}, 2)]:
        out = tm.performance(log, labels, window="1D", **kwargs)
        assert out.attrs["positive"] == pos
        assert out.precision[0] == pytest.approx(precision_score(y, pred, pos_label=pos))
        assert out.recall[0] == pytest.approx(recall_score(y, pred, pos_label=pos))
        assert out.f1[0] == pytest.approx(f1_score(y, pred, pos_label=pos))
    with pytest.raises(tm.BadLabels, match=r"label 5 is not one of the classes"):
        tm.performance(log, labels, classes=[0, 2])
    with pytest.raises(tm.BadSetting, match="positive class 3 is not one of"):
        tm.performance(log, labels, classes=[2, 5], positive=3)


def test_multiclass_estimate_of_a_table_with_a_probability_column_per_class() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.3, 0.5], [0.5, 0.4, 0.1]])
    log = pd.DataFrame(p, columns=["pa", "pb", "pc"]).assign(
        timestamp=pd.Timestamp("2026-12-06", tz="UTC")
    )
    [row] = tm.estimate(log, proba=["pa", "pb", "pc"], window="1D").to_dict(orient="records")
    # called a, b, c, a. class a: tp .7+.5, fp .3+.5, fn .1+.2; b: tp .6, fp .4, fn .2+.3+.4;
    # c: tp .5, fp .5, fn .1+.3+.1
    tp, fp, fn = np.array([1.2, 0.6, 0.5]), np.array([0.8, 0.4, 0.5]), np.array([0.3, 0.9, 0.5])
    assert row["estimated"] is True
    assert row["accuracy"] == pytest.approx((0.7 + 0.6 + 0.5 + 0.5) / 4)
    assert row["precision"] == pytest.approx(np.mean(tp / (tp + fp)))
    assert row["recall"] == pytest.approx(np.mean(tp / (tp + fn)))
    assert row["f1"] == pytest.approx(np.mean(2 * tp / (2 * tp + fp + fn)))
    with pytest.raises(tm.BadSetting, match="one probability column per class"):
        tm.estimate(log, proba=["pa"])
