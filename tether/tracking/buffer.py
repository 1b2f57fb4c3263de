"""Metric points buffered in memory and written in batches by a background thread.

A training loop must not wait on the database: ``add`` only validates and appends one tuple under
a lock (a few microseconds for a dict of metrics). A daemon thread writes everything pending every
``interval`` seconds, or sooner when ``max_pending`` points wait, in one store transaction. So a
crash loses at most the last interval; ``flush`` and ``close`` write synchronously.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from tether.errors import InvalidInput

log = logging.getLogger(__name__)

# (step, timestamp_ms, {key: value}) as logged by one call
Entry = tuple[int, int, dict[str, float]]
Writer = Callable[[dict[str, tuple[list[int], list[int], list[float]]]], None]

_live: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()


def flush_all() -> None:
    """Write every live buffer's pending points (at interpreter exit, on SIGTERM)."""
    for buffer in list(_live):
        buffer.flush()


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
        self._wake = threading.Event()
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="tether-metrics", daemon=True)
        self._thread.start()
        _live.add(self)

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
            self._wake.set()

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
            if pending:
                self._write(_columns(pending))

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._wake.set()
        self._thread.join()
        _live.discard(self)
        self.flush()
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except BaseException as e:  # reported to the logging thread on its next call
                log.error("writing metrics failed: %s", e)
                self._error = e
                return
            if self._closed:
                return


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
