"""Metric points buffered in memory and written in batches by a background thread.

A training loop must not wait on the database: ``add`` only validates and appends one tuple under
a lock (a few microseconds for a dict of metrics). The process's ticker thread writes everything
pending every ``interval`` seconds, or sooner when ``max_pending`` points wait, in one store
transaction. So a crash loses at most the last interval; ``flush`` and ``close`` write
synchronously.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from tether.errors import InvalidInput
from tether.tracking.ticker import ticker

# (step, timestamp_ms, {key: value}) as logged by one call
Entry = tuple[int, int, dict[str, float]]
Writer = Callable[[dict[str, tuple[list[int], list[int], list[float]]]], None]


def _as_float(key: object, value: Any) -> float:
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"metric name {key!r} must be a non-empty string")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"metric {key!r} must be a number, got {type(value).__name__} {value!r}"
        ) from None


class MetricBuffer:
    def __init__(self, write: Writer, *, interval: float = 0.5, max_pending: int = 50_000) -> None:
        self._write = write
        self._interval = interval
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: list[Entry] = []
        self._pending_points = 0
        self._keys: set[str] = set()
        self._closed = False
        self._error: BaseException | None = None
        self._task = ticker.add(interval, self._flush_in_background, on_wake=True)

    def add(self, metrics: Mapping[str, Any], step: int, timestamp_ms: int | None = None) -> None:
        if self._error is not None:
            raise self._error
        try:
            values = {k: float(v) for k, v in metrics.items()}
        except (TypeError, ValueError):
            values = {k: _as_float(k, v) for k, v in metrics.items()}
        if not self._keys.issuperset(values):
            self._check_keys(values)
        if type(step) is not int:
            step = self._check_step(step)
        ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        with self._lock:
            if self._closed:
                raise InvalidInput("the run has ended; metrics can no longer be logged to it")
            self._pending.append((step, ts, values))
            self._pending_points += len(values)
            wake = self._pending_points >= self._max_pending
        if wake:
            ticker.wake()

    def _check_keys(self, values: Mapping[str, float]) -> None:
        for key in values:
            if not isinstance(key, str) or not key.strip():
                raise InvalidInput(f"metric name {key!r} must be a non-empty string")
            self._keys.add(key)

    @staticmethod
    def _check_step(step: Any) -> int:
        if (
            isinstance(step, bool)
            or not isinstance(step, int | float)
            or (isinstance(step, float) and not (math.isfinite(step) and step.is_integer()))
        ):
            raise InvalidInput(f"metric step must be a whole number, got {step!r}")
        return int(step)

    def flush(self) -> None:
        """Write everything pending now; returns once it is durable in the store."""
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                self._pending_points = 0
            if not pending:
                return
            try:
                self._write(_columns(pending))
            except BaseException:  # keep the points for the next try, in order
                with self._lock:
                    self._pending[:0] = pending
                    self._pending_points += sum(len(values) for _, _, values in pending)
                raise

    def close(self) -> None:
        """Write what is pending (retrying a failed background write once) and stop."""
        with self._lock:
            self._closed = True
        ticker.remove(self._task)
        self.flush()

    def drain(self) -> dict[str, tuple[list[int], list[int], list[float]]]:
        """Stop, and hand back what is pending (for a caller that writes it with other data)."""
        with self._lock:
            self._closed = True
        ticker.remove(self._task)
        with self._write_lock, self._lock:
            pending, self._pending = self._pending, []
            self._pending_points = 0
        return _columns(pending)

    def _flush_in_background(self) -> None:
        try:
            self.flush()
        except BaseException as e:  # raised to the logging thread on its next call
            self._error = e
            raise


def _columns(entries: list[Entry]) -> dict[str, tuple[list[int], list[int], list[float]]]:
    series: dict[str, tuple[list[int], list[int], list[float]]] = {}
    for step, ts, values in entries:
        for key, value in values.items():
            columns = series.get(key)
            if columns is None:
                columns = series[key] = ([], [], [])
            columns[0].append(step)
            columns[1].append(ts)
            columns[2].append(value)
    return series
