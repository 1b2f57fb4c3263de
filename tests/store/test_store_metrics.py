"""Conformance: metric logging, history and summaries."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether.errors import InvalidInput
from tether.store import MetricNotFound, MetricPoint, RunNotFound, Store


def _run(store: Store) -> str:
    store.get_or_create_project("p")
    return store.create_run("p").id


def test_history_and_summary(store: Store) -> None:
    run = _run(store)
    store.log_metrics(run, [MetricPoint("loss", 0, 1000, 1.0), MetricPoint("acc", 0, 1000, 0.5)])
    store.log_metrics(run, [MetricPoint("loss", 2, 1020, 0.25), MetricPoint("loss", 1, 1010, 0.5)])
    assert store.get_metric_history(run, "loss") == [
        MetricPoint("loss", 0, 1000, 1.0),
        MetricPoint("loss", 1, 1010, 0.5),
        MetricPoint("loss", 2, 1020, 0.25),
    ]
    summaries = store.get_metric_summaries(run)
    assert sorted(summaries) == ["acc", "loss"]
    loss = summaries["loss"]
    assert (loss.last_value, loss.last_step, loss.last_timestamp_ms) == (0.25, 2, 1020)
    assert (loss.min_value, loss.max_value, loss.count) == (0.25, 1.0, 3)


def test_metrics_of_unknown_run_and_key(store: Store) -> None:
    with pytest.raises(RunNotFound, match="'r0'"):
        store.log_metrics("r0", [MetricPoint("a", 0, 0, 1.0)])
    with pytest.raises(RunNotFound):
        store.get_metric_summaries("r0")
    with pytest.raises(RunNotFound):
        store.get_metric_history("r0", "a")
    run = _run(store)
    assert store.get_metric_summaries(run) == {}
    with pytest.raises(MetricNotFound, match="'acc'"):
        store.get_metric_history(run, "acc")
    store.log_metrics(run, [])


@pytest.mark.parametrize(
    ("point", "field"),
    [
        (MetricPoint("a", math.inf, 0, 1.0), "step"),  # type: ignore[arg-type]
        (MetricPoint("a", 1.5, 0, 1.0), "step"),  # type: ignore[arg-type]
        (MetricPoint("a", 2**63, 0, 1.0), "step"),
        (MetricPoint("a", 0, math.nan, 1.0), "timestamp_ms"),  # type: ignore[arg-type]
        (MetricPoint("a", 0, 0, "high"), "value"),  # type: ignore[arg-type]
        (MetricPoint("", 0, 0, 1.0), "metric key"),
    ],
)
def test_bad_points(store: Store, point: MetricPoint, field: str) -> None:
    run = _run(store)
    with pytest.raises(InvalidInput, match=field):
        store.log_metrics(run, [MetricPoint("ok", 0, 0, 1.0), point])
    assert store.get_metric_summaries(run) == {}  # nothing of the batch was stored


def test_whole_number_types_are_accepted(store: Store) -> None:
    run = _run(store)
    store.log_metrics(run, [MetricPoint("a", 3.0, 7, 2)])  # type: ignore[arg-type]
    [p] = store.get_metric_history(run, "a")
    assert (p.step, p.value) == (3, 2.0) and type(p.step) is int and type(p.value) is float


def test_nan_and_infinities(store: Store) -> None:
    run = _run(store)
    store.log_metrics(run, [MetricPoint("a", 0, 0, math.nan)])
    s = store.get_metric_summaries(run)["a"]
    assert math.isnan(s.last_value) and math.isnan(s.min_value) and math.isnan(s.max_value)
    store.log_metrics(run, [MetricPoint("a", 1, 0, -math.inf), MetricPoint("a", 2, 0, 5.0)])
    store.log_metrics(run, [MetricPoint("a", 3, 0, math.nan)])
    s = store.get_metric_summaries(run)["a"]
    assert (s.min_value, s.max_value, s.count) == (-math.inf, 5.0, 4)
    assert math.isnan(s.last_value) and s.last_step == 3
    values = [p.value for p in store.get_metric_history(run, "a")]
    assert math.isnan(values[0]) and values[1:3] == [-math.inf, 5.0] and math.isnan(values[3])


def test_large_series_round_trip(store: Store) -> None:
    run = _run(store)
    for start in range(0, 10_000, 2_500):
        store.log_metrics(
            run,
            [
                MetricPoint(f"m{k}", s, s * 10, s / 7)
                for s in range(start, start + 2_500)
                for k in range(2)
            ],
        )
    history = store.get_metric_history(run, "m1")
    assert [p.step for p in history] == list(range(10_000))
    assert history[-1] == MetricPoint("m1", 9_999, 99_990, 9_999 / 7)
    assert store.get_metric_summaries(run)["m0"].count == 10_000


_values = st.floats(allow_nan=True, allow_infinity=True, width=64)
_points = st.lists(
    st.builds(
        MetricPoint,
        key=st.sampled_from(["a", "b/c", "d e"]),
        step=st.integers(-(2**63), 2**63 - 1) | st.integers(0, 5),
        timestamp_ms=st.integers(0, 3) | st.integers(-(2**63), 2**63 - 1),
        value=_values,
    ),
    max_size=40,
)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(points=_points, cuts=st.lists(st.integers(0, 40), max_size=6))
def test_chunks_round_trip(store: Store, points: list[MetricPoint], cuts: list[int]) -> None:
    """Any points logged in any batches read back in (step, time, logging) order, and the
    summary is the last point of that order and the min/max of the non-NaN values."""
    run = _run(store)
    bounds = sorted({0, len(points), *(c for c in cuts if c <= len(points))})
    for lo, hi in itertools.pairwise(bounds):
        store.log_metrics(run, points[lo:hi])
    summaries = store.get_metric_summaries(run)
    assert sorted(summaries) == sorted({p.key for p in points})
    for key, summary in summaries.items():
        expected = sorted(
            (p for p in points if p.key == key), key=lambda p: (p.step, p.timestamp_ms)
        )
        got = store.get_metric_history(run, key)
        assert [(p.step, p.timestamp_ms) for p in got] == [
            (p.step, p.timestamp_ms) for p in expected
        ]
        assert all(_same(g.value, e.value) for g, e in zip(got, expected, strict=True))
        last = expected[-1]
        assert (summary.last_step, summary.last_timestamp_ms) == (last.step, last.timestamp_ms)
        assert _same(summary.last_value, last.value)
        finite = [p.value for p in expected if not math.isnan(p.value)]
        assert _same(summary.min_value, min(finite) if finite else math.nan)
        assert _same(summary.max_value, max(finite) if finite else math.nan)
        assert summary.count == len(expected)
