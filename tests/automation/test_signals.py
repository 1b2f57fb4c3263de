"""What each trigger watches, read from a real store (SQLite and PostgreSQL): dataset versions,
the cron schedule, and the monitoring events `monitor.drift` / `monitor.performance`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tether.automation import DRIFT, PERFORMANCE
from tether.automation.policy import parse_loop
from tether.automation.signals import find_signals
from tether.config.cron import last_fire
from tether.store import Store

BASE = {
    "model": "churn",
    "pipeline": "p:t",
    "dataset": "churn",
    "target": "y",
    "gate": {"primary": "accuracy"},
}
NOW = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)


def _keys(store: Store, triggers: dict[str, Any], *, before: bool = True) -> list[str]:
    policy = parse_loop("l", {**BASE, "triggers": triggers})
    store.get_or_create_project("p")
    return [s.key for s in find_signals(policy, store, "p", NOW, scheduled_before=before)]


def _monitor(store: Store, action: str, model: str, **detail: Any) -> int:
    event = store.record_audit(
        actor="monitor", action=action, target=model, outcome="ok", project="p", detail=detail
    )
    return event.id


def test_drift_above_the_threshold_in_the_latest_window_triggers(store: Store) -> None:
    assert _keys(store, {"drift": 0.3}) == []
    _monitor(store, DRIFT, "churn", share_drifted=0.5)
    low = _monitor(store, DRIFT, "churn", share_drifted=0.2)  # the latest window counts
    assert _keys(store, {"drift": 0.3}) == []
    high = _monitor(store, DRIFT, "churn", share_drifted=0.4)
    _monitor(store, DRIFT, "other-model", share_drifted=0.0)
    assert _keys(store, {"drift": 0.3}) == [f"drift:{high}"]
    assert high > low


def test_a_performance_drop_below_the_threshold_triggers(store: Store) -> None:
    perf = {"performance": {"metric": "accuracy", "below": 0.8}}
    _monitor(store, PERFORMANCE, "churn", metric="accuracy", value=0.9)
    assert _keys(store, perf) == []
    _monitor(store, PERFORMANCE, "churn", metric="f1", value=0.1)  # another metric
    assert _keys(store, perf) == []
    drop = _monitor(store, PERFORMANCE, "churn", metric="accuracy", value=0.7)
    assert _keys(store, perf) == [f"performance:{drop}"]


def test_the_newest_dataset_version_is_the_key(store: Store) -> None:
    from tether.store import ObjectRecord

    assert _keys(store, {"new_data": True}) == []
    store.record_objects([ObjectRecord("t" * 64, 1, "tree")])
    for _ in range(2):
        store.create_dataset_version("p", "churn", tree_digest="t" * 64, file_count=1, total_size=1)
    assert _keys(store, {"new_data": True}) == ["new_data:churn@2"]


@pytest.mark.parametrize(
    ("expr", "fired"),
    [
        ("0 3 * * *", datetime(2026, 12, 6, 3, 0, tzinfo=UTC)),
        ("30 14 * * *", NOW),  # firing exactly now counts
        ("*/15 * * * *", NOW),
        ("0 0 * * 1", datetime(2026, 11, 30, 0, 0, tzinfo=UTC)),
    ],
)
def test_the_schedule_key_is_the_last_fire_time(expr: str, fired: datetime) -> None:
    assert last_fire(expr, NOW) == fired


def test_a_schedule_seen_for_the_first_time_is_a_baseline(store: Store) -> None:
    policy = parse_loop("l", {**BASE, "triggers": {"schedule": "0 3 * * *"}})
    store.get_or_create_project("p")
    [first] = find_signals(policy, store, "p", NOW, scheduled_before=False)
    assert first.baseline
    [later] = find_signals(policy, store, "p", NOW, scheduled_before=True)
    assert not later.baseline and later.key == first.key
