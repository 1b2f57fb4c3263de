"""A prediction-log window (anything satisfying PredictionWindow) checked against a reference:
the log's bookkeeping columns are not compared, the prediction is reported on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

import tether.monitoring as tm


def test_window_of_the_prediction_log() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 3_000), "c": rng.choice(["a", "b"], 3_000)})
    start = datetime(2026, 12, 6, 12, tzinfo=UTC)
    asked: list[tuple[str, datetime, datetime]] = []

    def window(model: str, *, start: datetime, end: datetime) -> pa.Table:
        asked.append((model, start, end))
        n = 2_000
        return pa.table(
            {
                "request_id": [f"r{i}" for i in range(n)],
                "timestamp": pa.array([start] * n),
                "x": rng.normal(1.0, 1, n),
                "c": rng.choice(["a", "b"], n),
                "prediction": rng.normal(0, 1, n),
            }
        )

    report = tm.drift_window(
        reference, window, "churn@prod", start=start, end=start + timedelta(hours=1),
        prediction="prediction",
    )  # fmt: skip
    assert asked == [("churn@prod", start, start + timedelta(hours=1))]
    assert report.drifted_columns == ["x"]
    assert {c.column for c in report.columns} == {"x", "c", "prediction"}
    assert report.prediction_drift is not None and report.prediction_drift.drift is None
    assert not [i for i in report.issues if i.column in ("request_id", "timestamp")]


def test_the_serving_logs_bookkeeping_columns_are_not_compared() -> None:
    """tether.serving's log holds time, version, latency_ms and row beside the features."""
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 1_000)})
    n = 500

    def window(model: str, *, start: datetime, end: datetime) -> pa.Table:
        return pa.table(
            {
                "request_id": [f"r{i // 5}" for i in range(n)],
                "time": pa.array([start] * n),
                "version": [2] * n,
                "latency_ms": rng.uniform(1, 2, n),
                "row": [i % 5 for i in range(n)],
                "x": rng.normal(0, 1, n),
            }
        )

    start = datetime(2026, 12, 6, 12, tzinfo=UTC)
    report = tm.drift_window(reference, window, "m@1", start=start, end=start)
    assert {c.column for c in report.columns} == {"x"}
