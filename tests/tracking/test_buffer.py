"""Metric logging never waits on the database, and loses at most the last interval."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tether.errors import InvalidInput, StorageError
from tether.store import validate
from tether.store.errors import StoreBusy
from tether.tracking.buffer import MetricBuffer
from tether.tracking.ticker import ticker

Columns = dict[str, tuple[list[int], list[int], list[float]]]


class Recorder:
    def __init__(self) -> None:
        self.writes: list[Columns] = []
        self.lock = threading.Lock()

    def __call__(self, series: Columns) -> None:
        with self.lock:
            self.writes.append(series)

    def points(self, key: str) -> list[tuple[int, float]]:
        return [
            (s, v) for w in self.writes for s, _, v in zip(*w.get(key, ([], [], [])), strict=True)
        ]


def test_many_calls_become_few_writes_in_order() -> None:
    rec = Recorder()
    buf = MetricBuffer(rec, interval=60)
    for step in range(1000):
        buf.add({f"k{i}": step + i / 100 for i in range(100)}, step)
    buf.close()
    assert len(rec.writes) <= 3  # the size trigger may fire once or twice; never per call
    assert rec.points("k7") == [(s, s + 0.07) for s in range(1000)]


def test_the_background_thread_writes_within_the_interval() -> None:
    rec = Recorder()
    buf = MetricBuffer(rec, interval=0.1)
    buf.add({"loss": 1.0}, 0)
    deadline = time.monotonic() + 30  # only keeps a failure from hanging: no speed is checked
    while not rec.writes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rec.points("loss") == [(0, 1.0)]
    buf.close()


def test_a_full_buffer_is_written_before_the_interval() -> None:
    rec = Recorder()
    buf = MetricBuffer(rec, interval=60, max_pending=500)
    for step in range(10):
        buf.add({f"k{i}": 1.0 for i in range(100)}, step)
    deadline = time.monotonic() + 30  # under the 60 s interval: only the size can wake it
    while not rec.writes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rec.writes, "the size trigger did not wake the writer"
    buf.close()


def test_logging_is_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A call checks its values and appends them: it never writes (the background writer
    does), and a metric name is checked against the store's rules once, not at every call."""
    checked: list[str] = []
    real = validate.name

    def counting(what: str, value: object) -> str:
        checked.append(str(value))
        return real(what, value)

    monkeypatch.setattr(validate, "name", counting)
    rec = Recorder()
    buf = MetricBuffer(rec, interval=60, max_pending=10**9)
    metrics = {f"k{i}": float(i) for i in range(100)}
    for step in range(1000):
        buf.add(metrics, step)
    assert rec.writes == []
    assert sorted(checked) == sorted(metrics)
    buf.close()
    assert len(rec.writes) == 1
    assert rec.points("k7") == [(s, 7.0) for s in range(1000)]


def test_write_errors_reach_the_logging_code() -> None:
    def failing(series: Columns) -> None:
        raise StorageError("disk full")

    buf = MetricBuffer(failing, interval=0.05)
    buf.add({"x": 1.0}, 0)
    deadline = time.monotonic() + 30  # only keeps a failure from hanging
    with pytest.raises(StorageError, match="disk full"):
        while time.monotonic() < deadline:
            buf.add({"x": 1.0}, 1)
            time.sleep(0.02)


def test_values_and_steps_are_checked_at_the_call() -> None:
    buf = MetricBuffer(Recorder(), interval=60)
    with pytest.raises(InvalidInput, match="'acc' must be a number, got str"):
        buf.add({"loss": 1.0, "acc": "high"}, 0)
    with pytest.raises(InvalidInput, match="whole number"):
        buf.add({"loss": 1.0}, float("inf"))  # type: ignore[arg-type]
    buf.add({"loss": 2}, 3.0)  # type: ignore[arg-type]  # ints and integral floats are fine
    buf.close()


@pytest.mark.parametrize(
    "step",
    [2**63, -(2**63) - 1, 1.5, "3", None],
    ids=["2**63", "below-int64", "1.5", "str", "none"],
)
def test_a_bad_step_is_refused_at_the_call_and_loses_nothing(step: object) -> None:
    rec = Recorder()
    buf = MetricBuffer(rec, interval=60)
    buf.add({"loss": 1.0}, 0)
    with pytest.raises(InvalidInput, match="step"):
        buf.add({"loss": 2.0}, step)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="'loss' must be a number"):
        buf.add({"loss": 10**400}, 1)
    with pytest.raises(InvalidInput, match="control characters"):
        buf.add({"lo\x00ss": 2.0}, 1)
    buf.add({"loss": 3.0}, 2**63 - 1)
    buf.close()
    assert rec.points("loss") == [(0, 1.0), (2**63 - 1, 3.0)]


def test_a_busy_store_is_retried_and_the_error_cleared() -> None:
    rec = Recorder()
    busy = threading.Event()
    busy.set()

    def write(series: Columns) -> None:
        if busy.is_set():
            raise StoreBusy("locked")
        rec(series)

    buf = MetricBuffer(write, interval=0.02)
    for step in range(20):  # the background write fails meanwhile; logging goes on
        buf.add({"x": float(step)}, step)
        ticker.wake()  # run the background write now
        time.sleep(0.01)
    with pytest.raises(StoreBusy):
        buf.flush()
    busy.clear()
    buf.flush()
    buf.add({"x": 20.0}, 20)
    buf.close()
    assert rec.points("x") == [(s, float(s)) for s in range(21)]


def test_a_refused_key_is_dropped_and_the_others_written() -> None:
    rec = Recorder()

    def write(series: Columns) -> None:
        if "bad" in series:
            raise StorageError("refused")
        rec(series)

    buf = MetricBuffer(write, interval=60)
    buf.add({"good": 1.0, "bad": 2.0}, 0)
    with pytest.raises(StorageError, match=r"1 of 2 metrics .*'bad': refused"):
        buf.flush()
    buf.add({"good": 3.0}, 1)
    buf.close()
    assert rec.points("good") == [(0, 1.0), (1, 3.0)]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_store_locked_past_the_busy_timeout_does_not_poison_the_run(
    workspace: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import tether

    monkeypatch.setenv("TETHER_STORE_BUSY_TIMEOUT_S", "0.05")
    with tether.run() as run:
        run.log_metrics({"loss": 0.0}, step=0)
        run.flush()
        holder = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock ...
        try:
            for step in range(1, 40):  # ... while background writes time out
                run.log_metrics({"loss": float(step)}, step=step)
                time.sleep(0.025)
            with pytest.raises(StoreBusy):
                run.flush()
        finally:
            holder.execute("ROLLBACK")  # ... and lets go
            holder.close()
        run.flush()
        run.log_metrics({"loss": 40.0}, step=40)  # raised StoreBusy forever before
    history = tether.get_run(run.id).metric_history("loss")
    assert [p.step for p in history] == list(range(41))
