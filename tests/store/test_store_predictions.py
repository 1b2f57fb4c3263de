"""Prediction log segments in the metadata store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tether.store import InvalidField, Store

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_segments_are_listed_by_time_window(store: Store) -> None:
    store.get_or_create_project("p")
    for i in range(3):
        store.add_prediction_segment(
            "p", "churn", version=1 + i // 2, start_time=T0 + timedelta(minutes=10 * i),
            end_time=T0 + timedelta(minutes=10 * i + 5), rows=100 + i, digest=f"d{i}",
        )  # fmt: skip
    store.add_prediction_segment(
        "p", "other", version=1, start_time=T0, end_time=T0, rows=1, digest="x"
    )
    every = store.list_prediction_segments("p", "churn")
    assert [(s.digest, s.version, s.rows) for s in every] == [
        ("d0", 1, 100), ("d1", 1, 101), ("d2", 2, 102),
    ]  # fmt: skip
    assert every[0].start_time == T0
    window = store.list_prediction_segments(
        "p", "churn", start=T0 + timedelta(minutes=7), end=T0 + timedelta(minutes=12)
    )
    assert [s.digest for s in window] == ["d1"]
    assert store.list_prediction_segments("nope", "churn") == []


def test_bad_segments_are_refused(store: Store) -> None:
    store.get_or_create_project("p")
    with pytest.raises(InvalidField, match="end_time"):
        store.add_prediction_segment(
            "p", "m", version=1, start_time=T0, end_time=T0 - timedelta(1), rows=1, digest="d"
        )
    with pytest.raises(InvalidField, match="timezone-aware"):
        store.add_prediction_segment(
            "p", "m", version=1, start_time=T0.replace(tzinfo=None), end_time=T0, rows=1,
            digest="d",
        )  # fmt: skip
    with pytest.raises(InvalidField, match="rows"):
        store.add_prediction_segment(
            "p", "m", version=1, start_time=T0, end_time=T0, rows=-1, digest="d"
        )
