"""Conformance: run records queued with ``defer=True`` and written in batches."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from tether.store import RunNotFound, Store, open_store
from tether.store.errors import DeferredWriteFailed, StoreBusy


@pytest.fixture
def other(store_url: str) -> Iterator[Store]:
    """A second store object on the same database: what another process sees."""
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


def _ids(store: Store) -> set[str]:
    return {r.id for r in store.list_runs("p")}


def test_deferred_run_is_written_on_flush(store: Store, other: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p", experiment="e", params={"lr": "0.1"}, tags={"t": "x"}, defer=True)
    assert run.id not in _ids(other)  # nothing written yet
    store.flush()
    got = other.get_run(run.id)
    assert got.status == "running" and got.params == {"lr": "0.1"} and got.tags == {"t": "x"}


def test_the_same_store_sees_its_deferred_runs(store: Store, other: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p", defer=True)
    assert store.get_run(run.id).id == run.id  # a read writes the queue first
    assert run.id in _ids(other)


def test_run_created_and_finished_between_flushes_is_inserted_once(
    store: Store, other: Store
) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p", params={"model": "a"}, defer=True)
    store.finish_run(run.id, "finished", metrics={"acc": ([0], [1000], [0.75])}, defer=True)
    assert run.id not in _ids(other)
    store.flush()
    got = other.get_run(run.id)
    assert got.status == "finished" and got.end_time is not None and got.error is None
    summary = other.get_metric_summaries(run.id)["acc"]
    assert summary.last_value == 0.75 and summary.count == 1


def test_deferred_finish_of_a_written_run(store: Store, other: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p")
    store.finish_run(
        run.id, "failed", error="boom", metrics={"loss": ([3], [5], [math.nan])}, defer=True
    )
    assert other.get_run(run.id).status == "running"
    store.flush()
    got = other.get_run(run.id)
    assert got.status == "failed" and got.error == "boom"
    assert math.isnan(other.get_metric_summaries(run.id)["loss"].last_value)


def test_many_runs_go_in_one_flush(store: Store, other: Store) -> None:
    store.get_or_create_project("p")
    made = []
    for i in range(50):
        run = store.create_run("p", params={"i": str(i)}, defer=True)
        store.finish_run(run.id, "finished", metrics={"m": ([0], [0], [float(i)])}, defer=True)
        made.append(run.id)
    store.flush()
    runs = {r.id: r for r in other.list_runs("p")}
    assert set(made) <= set(runs)
    assert all(runs[rid].params == {"i": str(i)} for i, rid in enumerate(made))


def test_child_of_a_deferred_parent(store: Store, other: Store) -> None:
    store.get_or_create_project("p")
    parent = store.create_run("p", defer=True)
    child = store.create_run("p", parent_id=parent.id, defer=True)
    store.flush()
    assert other.get_run(child.id).parent_id == parent.id


def test_deferred_run_checks_its_parent_now(store: Store) -> None:
    store.get_or_create_project("p")
    with pytest.raises(RunNotFound):
        store.create_run("p", parent_id="no-such-run", defer=True)
    store.flush()
    assert _ids(store) == set()


def test_close_writes_the_queue(store_url: str, other: Store) -> None:
    s = open_store(store_url)
    s.get_or_create_project("p")
    run = s.create_run("p", defer=True)
    s.close()
    assert other.get_run(run.id).id == run.id


def test_a_refused_run_is_reported_and_the_others_are_written(store: Store, other: Store) -> None:
    store.get_or_create_project("p")
    first = store.create_run("p", defer=True)
    store.finish_run(first.id, "finished", defer=True)
    clash = store.create_run("p", defer=True)
    # a row with the same id already stored: the batch fails, then the run alone
    other.get_or_create_project("p")
    with other._write() as conn:  # type: ignore[attr-defined]
        from tether.store.sql import schema as t

        pid = other._project_id(conn, "p")  # type: ignore[attr-defined]
        conn.execute(
            t.runs.insert().values(
                id=clash.id,
                project_id=pid,
                experiment="x",
                status="running",
                start_time=clash.start_time,
                info={},
            )
        )
    with pytest.raises(DeferredWriteFailed, match=f"run {clash.id}: .*contradicts stored data"):
        store.flush()
    assert other.get_run(first.id).status == "finished"  # not lost with the bad one
    assert other.get_run(clash.id).experiment == "x"
    store.flush()  # the refused run is not retried forever


def test_a_busy_store_keeps_the_queue(sqlite_store_url: str) -> None:
    import sqlite3

    store = open_store(sqlite_store_url, busy_timeout_s=0.05)
    store.get_or_create_project("p")
    run = store.create_run("p", defer=True)
    holder = sqlite3.connect(sqlite_store_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreBusy):
            store.flush()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.flush()  # the retry writes what was queued
    assert store.get_run(run.id).status == "running"
    store.close()
