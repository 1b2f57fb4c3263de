"""Drift and performance gauges in Prometheus' text format."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

import tether.monitoring as tm
from tether.monitoring import drift_gauges, performance_gauges

SAMPLE = re.compile(r'^[a-z_]+\{([a-z_]+="(?:[^"\\]|\\.)*",?)+\} (NaN|[+-]Inf|-?[0-9.e+-]+)$')


def _valid(text: str) -> list[str]:
    samples = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert all(SAMPLE.match(ln) for ln in samples), samples
    return samples


def test_drift_gauges() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2_000), 'we"ird': rng.normal(0, 1, 2_000)})
    cur = pd.DataFrame({"x": rng.normal(1, 1, 2_000), 'we"ird': rng.normal(0, 1, 2_000)})
    samples = _valid(drift_gauges(tm.drift(ref, cur), "churn@prod"))
    assert 'tether_drift{model="churn@prod",column="x"} 1.0' in samples
    assert 'tether_drift{model="churn@prod",column="we\\"ird"} 0.0' in samples
    assert 'tether_drift_share{model="churn@prod"} 0.5' in samples


def test_performance_gauges_of_the_latest_window() -> None:
    t = pd.Timestamp("2026-12-06", tz="UTC")
    table = pd.DataFrame(
        {"window": [t, t + pd.Timedelta("1h")], "predictions": [10, 10],
         "accuracy": [0.5, 0.75], "f1": [0.4, float("nan")], "estimated": [True, True]}
    )  # fmt: skip
    samples = _valid(performance_gauges(table, "m"))
    assert samples == [
        'tether_performance{model="m",metric="accuracy",estimated="true"} 0.75',
        'tether_performance{model="m",metric="f1",estimated="true"} NaN',
    ]


def test_performance_gauges_mark_the_estimated_columns_of_model_performance() -> None:
    t = pd.Timestamp("2026-12-06", tz="UTC")
    table = pd.DataFrame(
        {"window": [t], "version": [1], "predictions": [10], "labelled": [6],
         "unlabelled": [0.4], "accuracy": [0.5], "estimated_rows": [4],
         "estimated_accuracy": [0.75]}
    )  # fmt: skip
    samples = _valid(performance_gauges(table, "m"))
    assert samples == [
        'tether_performance{model="m",metric="unlabelled",version="1",estimated="false"} 0.4',
        'tether_performance{model="m",metric="accuracy",version="1",estimated="false"} 0.5',
        'tether_performance{model="m",metric="accuracy",version="1",estimated="true"} 0.75',
    ]
