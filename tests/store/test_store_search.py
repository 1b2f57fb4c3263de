"""Conformance: run search, id prefixes, heartbeats, columnar metrics, lineage lookups."""

from __future__ import annotations

import dataclasses
import math
import pickle
import time
from datetime import timedelta

import pytest

from tether.errors import InvalidInput
from tether.store import AmbiguousRunId, MetricPoint, MetricSummary, RunIO, RunNotFound, Store
from tether.store.filter import parse_filter, parse_order_by


@pytest.fixture
def runs(store: Store) -> dict[str, str]:
    """Six runs: name -> id, with params, tags and metric series to search by."""
    store.get_or_create_project("p")
    spec = [
        # name, model, lr, acc series, tags
        ("a1", "a", "0.1", [0.5, 0.95], {"team": "x"}),
        ("a2", "a", "0.01", [0.7, 0.85], {"team": "y"}),
        ("a3", "a", "high", [0.99, 0.91], {}),
        ("b1", "b", "0.3", [0.2, 0.97], {"team": "x"}),
        ("c1", "c", "1e-3", [], {"team": "x"}),
        ("n1", "a", "0.2", [math.nan], {}),
    ]
    ids = {}
    for name, model, lr, accs, tags in spec:
        run = store.create_run(
            "p", experiment="e", name=name, params={"model": model, "lr": lr}, tags=tags
        )
        store.log_metrics(run.id, [MetricPoint("acc", i, 1000 + i, v) for i, v in enumerate(accs)])
        ids[name] = run.id
    store.set_run_status(ids["b1"], "failed", error="boom")
    return ids


def _names(store: Store, flt: str, order: str = "name", **kw: object) -> list[str | None]:
    found = store.search_runs("p", parse_filter(flt), parse_order_by(order), **kw)  # type: ignore[arg-type]
    return [r.name for r in found]


def test_the_t2_query(store: Store, runs: dict[str, str]) -> None:
    assert _names(store, "metrics.acc > 0.9 and params.model = 'a'", "metrics.acc desc") == [
        "a1",
        "a3",
    ]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("", ["a1", "a2", "a3", "b1", "c1", "n1"]),
        ("params.lr > 0.05", ["a1", "b1", "n1"]),  # numbers compare as numbers; 'high' never
        ("params.lr <= 0.001", ["c1"]),  # 1e-3 is a number too
        ("params.lr = 'high'", ["a3"]),
        ("params.model in ('b', 'c')", ["b1", "c1"]),
        ("params.model not in ('a')", ["b1", "c1"]),
        ("max(metrics.acc) >= 0.99", ["a3"]),
        ("min(metrics.acc) < 0.6", ["a1", "b1"]),
        ("metrics.acc is null", ["c1", "n1"]),  # none logged, or NaN
        ("tags.team = 'x' or name like 'a%'", ["a1", "a2", "a3", "b1", "c1"]),
        ("tags.team = 'x' and not status = 'failed'", ["a1", "c1"]),
        ("tags.team is null", ["a3", "n1"]),
        ("status = 'failed'", ["b1"]),
        ("experiment = 'e' and name not like '%1'", ["a2", "a3"]),
        ("start_time > '2000-01-01'", ["a1", "a2", "a3", "b1", "c1", "n1"]),
    ],
)
def test_filters(store: Store, runs: dict[str, str], flt: str, expected: list[str]) -> None:
    assert _names(store, flt) == expected


def test_ordering_puts_missing_keys_last_and_limits(store: Store, runs: dict[str, str]) -> None:
    assert _names(store, "", "metrics.acc desc") == ["b1", "a1", "a3", "a2", "c1", "n1"][
        :4
    ] + _names(store, "metrics.acc is null", "name desc")
    assert _names(store, "", "params.model, name desc", limit=3) == ["n1", "a3", "a2"]
    assert _names(store, "", "", limit=2) == ["n1", "c1"]  # newest first by default


def test_bad_comparisons_name_the_field(store: Store, runs: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match=r"metrics\.acc"):
        _names(store, "metrics.acc = 'high'")
    with pytest.raises(InvalidInput, match="ISO date"):
        _names(store, "start_time > 'yesterday'")


def test_resolve_run_id(store: Store, runs: dict[str, str]) -> None:
    rid = runs["a1"]
    assert store.resolve_run_id(rid) == rid
    unique = next(n for n in range(8, 36) if sum(r.startswith(rid[:n]) for r in runs.values()) == 1)
    assert store.resolve_run_id(rid[:unique].upper()) == rid
    with pytest.raises(AmbiguousRunId, match="several runs"):
        store.resolve_run_id(rid[:4])  # uuid7 ids made in the same second share a prefix
    with pytest.raises(RunNotFound, match="tether runs ls"):
        store.resolve_run_id("ffffffff")
    with pytest.raises(InvalidInput, match="at least 4"):
        store.resolve_run_id("ab")


def test_heartbeat(store: Store, runs: dict[str, str]) -> None:
    assert store.get_run(runs["a1"]).heartbeat_at is None
    store.heartbeat(runs["a1"])
    beat = store.get_run(runs["a1"]).heartbeat_at
    assert beat is not None and abs(beat.timestamp() - time.time()) < 60
    with pytest.raises(RunNotFound):
        store.heartbeat("nope")


def test_metric_columns_round_trip(store: Store) -> None:
    store.get_or_create_project("p")
    rid = store.create_run("p").id
    store.log_metric_series(
        rid, {"loss": ([0, 1, 2], [10, 11, 12], [3.0, 2.0, 1.5]), "acc": ([0], [10], [0.5])}
    )
    store.log_metric_series(rid, {"loss": ([3], [13], [1.0])})
    assert [(p.step, p.value) for p in store.get_metric_history(rid, "loss")] == [
        (0, 3.0),
        (1, 2.0),
        (2, 1.5),
        (3, 1.0),
    ]
    summary = store.get_metric_summaries(rid)["loss"]
    assert (summary.last_value, summary.min_value, summary.max_value, summary.count) == (
        1.0,
        1.0,
        3.0,
        4,
    )
    many = store.get_metric_summaries_many([rid, "unknown"])
    assert set(many[rid]) == {"loss", "acc"} and many["unknown"] == {}
    assert (
        many[rid]["loss"]
        == summary
        == MetricSummary("loss", 1.0, 3, summary.last_timestamp_ms, 1.0, 3.0, 4)
    )
    assert list(vars(summary)) == [f.name for f in dataclasses.fields(MetricSummary)]
    with pytest.raises(InvalidInput, match="differ in length"):
        store.log_metric_series(rid, {"x": ([0, 1], [0], [1.0])})
    with pytest.raises(InvalidInput, match="'x'"):
        store.log_metric_series(rid, {"x": ([0.5], [0], [1.0])})  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="'y'"):
        store.log_metric_series(rid, {"y": ([0], [0], ["high"])})  # type: ignore[list-item]
    assert set(store.get_metric_summaries(rid)) == {"loss", "acc"}  # nothing half-written


def test_find_run_io(store: Store) -> None:
    store.get_or_create_project("p")
    maker, user = store.create_run("p").id, store.create_run("p").id
    digest = "ab" * 32
    store.add_run_io(maker, "output", "object", digest, name="model.pkl")
    store.add_run_io(user, "input", "object", digest, name="model.pkl")
    assert store.find_run_io("object", digest, "output") == [
        RunIO(maker, "output", "object", digest, "model.pkl")
    ]
    assert [io.run_id for io in store.find_run_io("object", digest)] == [maker, user]
    assert store.find_run_io("dataset_version", "d@1") == []


def test_finish_run_writes_metrics_and_status_together(store: Store) -> None:
    store.get_or_create_project("p")
    rid = store.create_run("p").id
    store.finish_run(rid, "failed", error="boom", metrics={"loss": ([0, 1], [5, 6], [2.0, 1.0])})
    run = store.get_run(rid)
    assert (run.status, run.error) == ("failed", "boom") and run.end_time is not None
    assert store.get_metric_summaries(rid)["loss"].last_value == 1.0
    with pytest.raises(InvalidInput, match="'x'"):
        store.finish_run(rid, "finished", metrics={"x": ([0], [0], ["bad"])})  # type: ignore[list-item]
    assert store.get_run(rid).status == "failed"  # nothing half-written
    with pytest.raises(RunNotFound):
        store.finish_run("nope", "finished")


def test_add_run_io_many(store: Store) -> None:
    store.get_or_create_project("p")
    rid = store.create_run("p").id
    digest = "cd" * 32
    rows = [("input", "object", digest, "x.csv"), ("output", "dataset_version", "d@1", None)]
    store.add_run_io_many(rid, rows)
    store.add_run_io_many(rid, rows)  # again: nothing changes
    assert [(io.direction, io.kind, io.ref, io.name) for io in store.list_run_io(rid)] == rows
    with pytest.raises(InvalidInput):
        store.add_run_io_many(rid, [("sideways", "object", digest, None)])
    with pytest.raises(RunNotFound):
        store.add_run_io_many("nope", rows)


def test_create_a_finished_run_with_its_io(store: Store) -> None:
    store.get_or_create_project("p")
    digest = "ef" * 32
    run = store.create_run(
        "p",
        name="cached-step",
        status="finished",
        io=[
            ("input", "object", digest, "x"),
            ("output", "object", digest, "y"),
            ("input", "object", digest, "dup"),
        ],
    )
    stored = store.get_run(run.id)
    assert stored.status == "finished" and stored.end_time == stored.start_time
    assert [(io.direction, io.name) for io in store.list_run_io(run.id)] == [
        ("input", "x"),
        ("output", "y"),
    ]
    with pytest.raises(InvalidInput):
        store.create_run("p", status="paused")
    with pytest.raises(InvalidInput):
        store.create_run("p", io=[("input", "nonsense", digest, None)])


def test_a_filter_at_the_limits_runs_on_the_database(store: Store) -> None:
    """500 conditions and 100 different keys: no 'expression tree too large' (SQLite refuses
    1,000 levels) and no 'at most 64 tables in a join'."""
    store.get_or_create_project("p")
    params = {f"k{i}": "1" for i in range(100)}
    hit = store.create_run("p", params=params).id
    store.create_run("p", params={**params, "k99": "2"})
    wide = " and ".join(f"params.k{i} = 1" for i in range(100))
    assert [r.id for r in store.search_runs("p", parse_filter(wide))] == [hit]
    many = " or ".join(f"params.k0 = {i + 2}" for i in range(499)) + " or params.k99 = 1"
    assert [r.id for r in store.search_runs("p", parse_filter(many))] == [hit]
    sort = parse_order_by(", ".join(f"params.k{i}" for i in range(20)))
    assert len(store.search_runs("p", parse_filter(wide), sort)) == 1


def test_search_and_list_return_runs_equal_to_get_run(store: Store, runs: dict[str, str]) -> None:
    """Search and list read rows their own (faster) way: every field must come back as
    ``get_run`` gives it, times aware and in UTC, ``info`` decoded."""
    store.heartbeat(runs["a1"])
    store.set_run_status(runs["a2"], "finished")
    info = {"code": {"commit": "abc", "untracked": ["x.py"]}, "process": {"pid": 7}}
    store.create_run("p", experiment="e", name="z", parent_id=runs["a1"], info=info)
    found = store.search_runs("p", parse_filter(""), parse_order_by("name"))
    listed = store.list_runs("p")
    assert len(found) == len(listed) == len(runs) + 1
    assert found[-1].info == info and found[-1].parent_id == runs["a1"]
    for run in [*found, *listed]:
        assert run == store.get_run(run.id)
        assert run.start_time.utcoffset() == timedelta(0)
    a2 = store.get_run(runs["a2"])
    assert a2.end_time is not None and a2.end_time.utcoffset() == timedelta(0)
    assert store.get_run(runs["a1"]).heartbeat_at is not None


def test_a_search_again_with_another_literal_type_is_another_search(store: Store) -> None:
    """A search is kept compiled for the next identical one; `= true` and `= 1` look alike to
    Python (True == 1.0) but are different searches, in either order."""
    store.get_or_create_project("p")
    text = store.create_run("p", name="text", params={"flag": "true"})
    number = store.create_run("p", name="number", params={"flag": "1"})
    for _ in range(2):  # the second round finds both searches compiled already
        assert [r.id for r in store.search_runs("p", parse_filter("params.flag = true"))] == [
            text.id
        ]
        assert [r.id for r in store.search_runs("p", parse_filter("params.flag = 1"))] == [
            number.id
        ]
    assert [r.id for r in store.search_runs("p", parse_filter("params.flag in (1, 2)"))] == [
        number.id
    ]
    assert [r.id for r in store.search_runs("p", parse_filter("params.flag in ('true')"))] == [
        text.id
    ]


def test_equal_sort_values_keep_the_newest_run_first(store: Store) -> None:
    """Ties on the sort key go to the newest run (the largest id), whichever way the key sorts."""
    store.get_or_create_project("p")
    ids = []
    for i in range(4):
        run = store.create_run("p", name=f"r{i}", params={"model": "a"})
        store.log_metrics(run.id, [MetricPoint("acc", 0, 1, 0.5 if i < 3 else 0.9)])
        ids.append(run.id)
    for order in ("metrics.acc desc", "metrics.acc"):
        found = store.search_runs(
            "p", parse_filter("metrics.acc > 0.1 and params.model = 'a'"), parse_order_by(order)
        )
        ties = [ids[2], ids[1], ids[0]]
        assert [r.id for r in found] == ([ids[3], *ties] if "desc" in order else [*ties, ids[3]])


def test_runs_read_back_with_their_exact_times_and_info(store: Store) -> None:
    """Run rows are written as plain values: times to the microsecond, info as JSON; a run
    read by a search keeps its info as text until asked, and survives a pickle round trip."""
    store.get_or_create_project("p")
    info = {"nested": {"list": [1, 2.5, "x"], "none": None}, "unicode": "é ✓"}
    direct = store.create_run("p", name="direct", info=info, params={"k": "v"})
    deferred = store.create_run("p", name="deferred", info=info, defer=True)
    store.flush()
    for made in (direct, deferred):
        got = store.get_run(made.id)
        assert got.start_time == made.start_time and got.info == info
    found = store.search_runs("p", parse_filter(""), parse_order_by("name"))
    assert [r.name for r in found] == ["deferred", "direct"]
    assert pickle.loads(pickle.dumps(found[0])) == found[0] == store.get_run(deferred.id)
    assert found[1].info == info and found[1].params == {"k": "v"}


def test_summaries_of_many_runs_are_each_runs_own(store: Store) -> None:
    """``get_metric_summaries_many`` (what a search loads) gives every run's summaries as
    ``get_metric_summaries`` does: keys in order, NaN kept, last values without the objects."""
    store.get_or_create_project("p")
    a, b, c = (store.create_run("p", name=n) for n in "abc")
    points = [MetricPoint("acc", 0, 1, 0.5), MetricPoint("acc", 1, 2, 0.7)]
    store.log_metrics(a.id, [*points, MetricPoint("loss", 0, 1, math.nan)])
    store.log_metrics(b.id, [MetricPoint("acc", 0, 1, 0.9)])
    many = store.get_metric_summaries_many([a.id, b.id, c.id])
    for run in (a, b, c):
        own = store.get_metric_summaries(run.id)
        got = many[run.id]
        assert list(got) == list(own) and len(got) == len(own)
        assert repr(dict(got.items())) == repr(own)
        assert pickle.loads(pickle.dumps(got)).last_values().keys() == own.keys()
    assert many[c.id].last_values() == {} and not many[c.id]
    last = many[a.id].last_values()
    assert last["acc"] == 0.7 and math.isnan(last["loss"])
    loss = many[a.id]["loss"]
    assert isinstance(loss, MetricSummary) and math.isnan(loss.min_value) and loss.count == 1
    assert many[a.id]["acc"] == MetricSummary("acc", 0.7, 1, 2, 0.5, 0.7, 2)
