"""Performance per window from delayed labels, and the CBPE estimate before they arrive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

import tether.monitoring as tm
from tether.monitoring import estimate, performance


def _log(n: int = 4_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    proba = rng.uniform(0, 1, n)
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "timestamp": pd.Timestamp("2026-12-06", tz="UTC")
            + pd.to_timedelta(np.sort(rng.uniform(0, 3 * 3600, n)), unit="s"),
            "proba": proba,
            "prediction": (proba >= 0.5).astype(int),
            "version": rng.choice([1, 2], n),
            # labels drawn from the probabilities: the model is calibrated
            "truth": (rng.uniform(0, 1, n) < proba).astype(int),
        }
    )


def test_metrics_per_window_match_sklearn_and_count_unlabelled() -> None:
    log = _log()
    labelled = log.sample(frac=0.7, random_state=1)  # 30% of labels not arrived yet
    labels = pd.DataFrame({"request_id": labelled.request_id, "label": labelled.truth})
    labels = pd.concat([labels, pd.DataFrame({"request_id": ["ghost"], "label": [1]})])
    out = performance(log.drop(columns="truth"), labels, window="1h", by=["version"])
    assert len(out) == 6 and out.attrs["unknown_labels"] == 1
    first = out.iloc[0]
    sel = log[(log.timestamp < pd.Timestamp("2026-12-06 01:00", tz="UTC")) & (log.version == 1)]
    known = sel[sel.request_id.isin(labelled.request_id)]
    assert first.predictions == len(sel) and first.labelled == len(known)
    assert first.unlabelled == pytest.approx(1 - len(known) / len(sel))
    assert first.accuracy == pytest.approx(accuracy_score(known.truth, known.prediction))
    assert first.precision == pytest.approx(precision_score(known.truth, known.prediction))
    assert first.recall == pytest.approx(recall_score(known.truth, known.prediction))
    assert first.f1 == pytest.approx(f1_score(known.truth, known.prediction))


def test_cbpe_estimate_is_close_to_the_measured_accuracy_when_calibrated() -> None:
    log = _log(n=30_000)
    est = estimate(log, window="1h")
    real = performance(log, log[["request_id"]].assign(label=log.truth), window="1h").set_index(
        "window"
    )
    assert est.estimated.all()
    for _, row in est.iterrows():
        assert row.accuracy == pytest.approx(real.loc[row.window, "accuracy"], abs=0.02)
        assert row.f1 == pytest.approx(real.loc[row.window, "f1"], abs=0.03)


def test_cbpe_roc_auc_is_close_to_the_measured_one_when_calibrated() -> None:
    from sklearn.metrics import roc_auc_score

    log = _log(n=30_000, seed=3)
    log["proba"] = log["proba"] ** 2  # a skewed score, still the labels' true probability
    log["truth"] = (np.random.default_rng(4).uniform(0, 1, len(log)) < log["proba"]).astype(int)
    est = estimate(log, window="1h").set_index("window")
    log["window"] = log["timestamp"].dt.floor("1h")
    for window, g in log.groupby("window"):
        measured = roc_auc_score(g.truth, g.proba)
        assert est.loc[window, "roc_auc"] == pytest.approx(measured, abs=0.02)


def test_cbpe_roc_auc_of_scores_that_cannot_rank_and_of_one_sure_class() -> None:
    from tether.monitoring.scoring import _expected_roc_auc

    assert _expected_roc_auc(np.full(100, 0.3)) == pytest.approx(0.5)  # all alike: chance
    assert np.isnan(_expected_roc_auc(np.zeros(10)))  # no row can be positive
    assert np.isnan(_expected_roc_auc(np.ones(10)))  # none negative
    # ties are one threshold, whatever the row order
    p = np.array([0.9, 0.2, 0.9, 0.2, 0.6])
    assert _expected_roc_auc(p) == pytest.approx(_expected_roc_auc(p[::-1]))


def test_wrong_label_columns_are_a_clear_error() -> None:
    log = _log(n=50)
    with pytest.raises(tm.UnknownColumn, match="'label'"):
        performance(log, pd.DataFrame({"request_id": ["r1"], "y": [1]}))
    with pytest.raises(tm.BadSetting, match="task"):
        performance(log, log, task="ranking")


def test_empty_window_is_an_empty_table() -> None:
    empty = _log(n=10).iloc[:0]
    labels = pd.DataFrame({"request_id": ["r1"], "label": [1]})
    out = performance(empty.drop(columns="truth"), labels)
    assert out.empty and "unlabelled" in out.columns and out.attrs["unknown_labels"] == 1
    assert estimate(empty).empty
