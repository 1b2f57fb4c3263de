import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

from tether.models.errors import (
    DataNotFound,
    InvalidData,
    MetricNeedsProbabilities,
    MissingTarget,
    SliceColumnError,
    SliceSyntaxError,
    UnknownMetric,
)
from tether.models.evaluation import evaluate, infer_task
from tether.models.metrics import METRICS, classification

from .gatekit import Fixed, table


def _frame(n: int = 600, classes: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    score = x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["segment"] = rng.choice(["a", "b", "c"], n)
    frame["y"] = y
    return frame


class OnFeatures:
    """A fitted scikit-learn model that reads only the numeric feature columns."""

    def __init__(self, model: object, columns: list[str]) -> None:
        self.model = model
        self.columns = columns
        self.classes_ = getattr(model, "classes_", None)
        if hasattr(model, "predict_proba"):
            self.predict_proba = lambda x: model.predict_proba(x[self.columns])  # type: ignore[attr-defined]

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.model.predict(x[self.columns])  # type: ignore[attr-defined]


def _classifier(frame: pd.DataFrame) -> OnFeatures:
    cols = ["a", "b", "c", "d"]
    return OnFeatures(LogisticRegression(max_iter=500).fit(frame[cols], frame["y"]), cols)


def test_binary_metrics_equal_scikit_learn() -> None:
    frame = _frame()
    model = _classifier(frame)
    ev = evaluate(model, frame, target="y")
    pred = model.predict(frame)
    proba = model.predict_proba(frame)
    y = frame["y"]
    assert ev.task == "classification"
    assert set(ev.metrics) == {"accuracy", "roc_auc", "log_loss", "f1", "ece"}
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert ev.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert ev.metrics["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)


def test_multiclass_metrics_equal_scikit_learn() -> None:
    frame = _frame(classes=3)
    model = _classifier(frame)
    ev = evaluate(model, frame, target="y")
    pred, proba, y = model.predict(frame), model.predict_proba(frame), frame["y"]
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert ev.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-12
    )
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert ev.metrics["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-12)


def test_roc_auc_with_tied_scores_equals_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    p = np.round(np.clip(0.3 * y + 0.7 * rng.random(500), 0, 1), 1)  # many ties
    preds = classification(y, (p > 0.5).astype(int), np.column_stack([1 - p, p]), np.array([0, 1]))
    assert METRICS["roc_auc"].compute(preds) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)


def test_weighted_roc_auc_equals_scikit_learn_on_repeated_rows() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300) * 0.6 + 0.4 * y, 2)
    preds = classification(y, (p > 0.5).astype(int), np.column_stack([1 - p, p]), np.array([0, 1]))
    counts = rng.multinomial(300, np.full(300, 1 / 300), size=3).astype(float)
    got = METRICS["roc_auc"].values(preds, counts)
    for row, value in zip(counts.astype(int), got, strict=True):
        idx = np.repeat(np.arange(300), row)
        assert value == pytest.approx(skm.roc_auc_score(y[idx], p[idx]), abs=1e-12)


def test_string_labels_use_the_second_class_as_positive() -> None:
    frame = _frame()
    frame["y"] = np.where(frame["y"] == 1, "churn", "stay")
    model = _classifier(frame)
    ev = evaluate(model, frame, target="y", latency=False)
    pred, proba = model.predict(frame), model.predict_proba(frame)
    assert list(model.classes_) == ["churn", "stay"]
    assert ev.metrics["f1"] == pytest.approx(skm.f1_score(frame["y"], pred, pos_label="stay"))
    assert ev.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(frame["y"] == "stay", proba[:, 1])
    )


def test_expected_calibration_error_equals_a_plain_loop() -> None:
    frame = _frame(classes=3, n=400)
    model = _classifier(frame)
    ev = evaluate(model, frame, target="y", metrics=["ece"], latency=False)
    proba = model.predict_proba(frame)
    conf, top = proba.max(axis=1), model.classes_[proba.argmax(axis=1)]
    correct = top == frame["y"].to_numpy()
    expected = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            expected += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    assert ev.metrics["ece"] == pytest.approx(expected, abs=1e-12)


def test_regression_metrics_equal_scikit_learn() -> None:
    frame = _frame()
    frame["y"] = frame["a"] * 3 + np.random.default_rng(1).normal(size=len(frame))
    cols = ["a", "b"]
    model = OnFeatures(LinearRegression().fit(frame[cols], frame["y"]), cols)
    ev = evaluate(model, frame, target="y", latency=False)
    pred, y = model.predict(frame), frame["y"]
    assert ev.task == "regression"
    assert ev.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)), abs=1e-12)
    assert ev.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), abs=1e-12)
    assert ev.metrics["r2"] == pytest.approx(skm.r2_score(y, pred), abs=1e-12)


def test_task_is_inferred_from_the_model_and_the_target() -> None:
    class Plain:
        def predict(self, x: pd.DataFrame) -> np.ndarray:
            return np.zeros(len(x))

    assert infer_task(pd.Series([0.5, 1.5]), Plain()) == "regression"
    assert infer_task(pd.Series(["a", "b"]), Plain()) == "classification"
    assert infer_task(pd.Series([0, 1, 1]), Plain()) == "classification"
    assert infer_task(pd.Series(range(100)), Plain()) == "regression"
    assert infer_task(pd.Series([0, 1]), LinearRegression()) == "regression"
    assert infer_task(pd.Series([0.0, 1.0]), LogisticRegression()) == "classification"


def test_slices_hold_their_rows_and_metrics() -> None:
    frame = _frame()
    model = _classifier(frame)
    ev = evaluate(model, frame, target="y", slices=["segment == 'b'", "a >= 0 and segment != 'c'"])
    inside = frame["segment"] == "b"
    s = ev.slices["segment == 'b'"]
    assert s.rows == int(inside.sum())
    assert s.metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(frame["y"][inside], model.predict(frame[inside]))
    )
    assert ev.slices["a >= 0 and segment != 'c'"].rows == int(
        ((frame["a"] >= 0) & (frame["segment"] != "c")).sum()
    )


def test_model_without_probabilities_gets_the_metrics_it_supports() -> None:
    y = np.array([0, 1, 1, 0, 1])
    model = Fixed(np.array([0, 1, 0, 0, 1]))
    ev = evaluate(model, table(y), target="y", latency=False)
    assert set(ev.metrics) == {"accuracy", "f1"}
    assert ev.metrics["accuracy"] == pytest.approx(0.8)
    with pytest.raises(MetricNeedsProbabilities, match="roc_auc"):
        evaluate(model, table(y), target="y", metrics=["roc_auc"], latency=False)


def test_bad_arguments_are_refused_before_the_model_runs() -> None:
    y = np.array([0, 1, 1, 0])
    model = Fixed(y)
    with pytest.raises(MissingTarget, match="no target column 'label'"):
        evaluate(model, table(y), target="label")
    with pytest.raises(UnknownMetric, match="unknown metric 'acc'"):
        evaluate(model, table(y), target="y", metrics=["acc"])
    with pytest.raises(UnknownMetric, match="'rmse' is a regression metric"):
        evaluate(model, table(y), target="y", metrics=["rmse"])
    with pytest.raises(SliceSyntaxError):
        evaluate(model, table(y), target="y", slices=["__import__('os')"])
    with pytest.raises(SliceColumnError, match="no column 'country'"):
        evaluate(model, table(y), target="y", slices=["country == 'DE'"])
    with pytest.raises(InvalidData, match="no rows"):
        evaluate(model, table(y).iloc[:0], target="y")
    with pytest.raises(InvalidData, match="missing values"):
        evaluate(model, table(np.array([0.0, np.nan])), target="y")
    assert model.calls == 0


def test_a_failing_model_is_reported_as_such() -> None:
    class Broken:
        def predict(self, x: pd.DataFrame) -> np.ndarray:
            raise ValueError("feature mismatch")

    with pytest.raises(InvalidData, match=r"model.predict failed.*feature mismatch"):
        evaluate(Broken(), table(np.array([0, 1])), target="y")


def test_parquet_paths_and_references(tmp_path: Path) -> None:
    y = np.array([0, 1, 1, 0])
    path = tmp_path / "eval.parquet"
    table(y).to_parquet(path)
    ev = evaluate(Fixed(y), path, target="y", latency=False)
    assert ev.rows == 4 and ev.source == str(path) and ev.metrics["accuracy"] == 1.0
    with pytest.raises(DataNotFound, match="does not exist"):
        evaluate(Fixed(y), tmp_path / "missing.parquet", target="y")
    (tmp_path / "not.parquet").write_text("hello")
    with pytest.raises(InvalidData, match=r"cannot read .* as Parquet"):
        evaluate(Fixed(y), tmp_path / "not.parquet", target="y")
    with pytest.raises(InvalidData, match="dataset reference"):
        evaluate(Fixed(y), "churn@4", target="y")
    seen: list[str] = []

    def resolver(ref: str) -> Path:
        seen.append(ref)
        return path

    ev = evaluate(Fixed(y), "churn@4", target="y", latency=False, resolver=resolver)
    assert seen == ["churn@4"] and ev.source == "churn@4" and ev.rows == 4


def test_to_dict_and_flat_metrics_can_be_logged() -> None:
    frame = _frame(n=300)
    ev = evaluate(_classifier(frame), frame, target="y", slices=["segment == 'a'"])
    data = json.loads(json.dumps(ev.to_dict()))
    assert data["rows"] == 300 and data["slices"]["segment == 'a'"]["rows"] > 0
    lat = data["latency"]
    assert 0 < lat["row_p50_ms"] <= lat["row_p99_ms"] and lat["batch_size"] == 100
    flat = ev.flat_metrics()
    assert flat["accuracy"] == ev.metrics["accuracy"]
    assert flat["slices/segment == 'a'/accuracy"] == ev.slices["segment == 'a'"].metrics["accuracy"]
    assert "latency/row_p99_ms" in flat
    assert all(isinstance(v, float) for v in flat.values())


def test_a_model_that_fails_on_one_row_is_reported_when_timing() -> None:
    class BatchOnly(Fixed):
        def predict(self, x: pd.DataFrame) -> np.ndarray:
            if len(x) == 1:
                raise ValueError("needs at least 2 rows")
            return super().predict(x)

    y = np.array([0, 1, 1, 0])
    with pytest.raises(InvalidData, match=r"failed on 1 row\(s\) while timing.*latency=False"):
        evaluate(BatchOnly(y), table(y), target="y")
    assert evaluate(BatchOnly(y), table(y), target="y", latency=False).metrics["accuracy"] == 1


def test_predictions_of_the_wrong_length_are_refused() -> None:
    class Scalar:
        def predict(self, x: pd.DataFrame) -> int:
            return 1

    with pytest.raises(InvalidData, match="predict returned one value for 2 rows"):
        evaluate(Scalar(), table(np.array([0, 1])), target="y", latency=False)


def test_a_saved_and_loaded_model_can_be_evaluated(tmp_path: Path) -> None:
    from tether.models import load_model, save_model

    frame = _frame(n=300)
    cols = ["a", "b", "c", "d"]
    model = LogisticRegression(max_iter=500).fit(frame[cols], frame["y"])
    save_model(model, tmp_path / "m", sample=frame[cols])
    loaded = load_model(tmp_path / "m")
    ev = evaluate(loaded, frame[[*cols, "y"]], target="y", latency=False)
    assert ev.task == "classification"
    assert ev.metrics["accuracy"] == pytest.approx(model.score(frame[cols], frame["y"]))
    # probabilities come through the loaded model too: the same scores as the live estimator
    live = evaluate(model, frame[[*cols, "y"]], target="y", latency=False)
    for metric in ("roc_auc", "log_loss"):
        assert ev.metrics[metric] == pytest.approx(live.metrics[metric])
