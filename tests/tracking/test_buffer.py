"""Metric logging never waits on the database, and loses at most the last interval."""

from __future__ import annotations

import threading
import time

import pytest

from tether.errors import InvalidInput, StorageError
from tether.tracking.buffer import MetricBuffer

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
    deadline = time.monotonic() + 2
    while not rec.writes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rec.points("loss") == [(0, 1.0)]
    buf.close()


def test_a_full_buffer_is_written_before_the_interval() -> None:
    rec = Recorder()
    buf = MetricBuffer(rec, interval=60, max_pending=500)
    for step in range(10):
        buf.add({f"k{i}": 1.0 for i in range(100)}, step)
    deadline = time.monotonic() + 2
    while not rec.writes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rec.writes, "the size trigger did not wake the writer"
    buf.close()


def test_logging_is_cheap() -> None:
    """A call validates and appends; 1,000 calls of 100 metrics take well under a second."""
    buf = MetricBuffer(Recorder(), interval=60, max_pending=10**9)
    metrics = {f"k{i}": float(i) for i in range(100)}
    start = time.perf_counter()
    for step in range(1000):
        buf.add(metrics, step)
    elapsed = time.perf_counter() - start
    buf.close()
    assert elapsed < 1.0, f"1,000 log calls took {elapsed:.3f}s"


def test_write_errors_reach_the_logging_code() -> None:
    def failing(series: Columns) -> None:
        raise StorageError("disk full")

    buf = MetricBuffer(failing, interval=0.05)
    buf.add({"x": 1.0}, 0)
    deadline = time.monotonic() + 2
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
