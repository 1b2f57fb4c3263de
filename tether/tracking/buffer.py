"""Metric points buffered in memory and written in batches by a background thread.

A training loop must not wait on the database: ``add`` only validates and appends one tuple under
a lock (a few microseconds for a dict of metrics). The process's ticker thread writes everything
pending every ``interval`` seconds, or sooner when ``max_pending`` points wait, in one store
transaction. So a crash loses at most the last interval; ``flush`` and ``close`` write
synchronously.

A background write that fails because the store is busy or unreachable keeps its points and is
tried again with back-off (``interval`` doubling up to ``MAX_BACKOFF_S``); logging goes on
meanwhile. Any other failure is split by metric key: the keys that write are written, the
others dropped, and the error is raised once, at the next call. A step that does not fit in
64 bits, or a value that is not a number, is refused at the call, before it can spoil a batch.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from tether.errors import InvalidInput, StorageError
from tether.store import validate
from tether.store.errors import TRANSIENT_ERRORS
from tether.tracking.ticker import ticker

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# (step, timestamp_ms, {key: value}) as logged by one call
Entry = tuple[int, int, dict[str, float]]
Writer = Callable[[dict[str, tuple[list[int], list[int], list[float]]]], None]


def _as_float(key: object, value: Any) -> float:
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"metric name {key!r} must be a non-empty string")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
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
        self._error: BaseException | None = None  # raised once, at the next call
        self._failures = 0  # background writes failed in a row for a passing reason
        self._retry_at = 0.0
        self._task = ticker.add(interval, self._flush_in_background, on_wake=True)

    def add(self, metrics: Mapping[str, Any], step: int, timestamp_ms: int | None = None) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        try:
            values = {k: float(v) for k, v in metrics.items()}
        except (TypeError, ValueError, OverflowError):
            values = {k: _as_float(k, v) for k, v in metrics.items()}
        if not self._keys.issuperset(values):
            self._check_keys(values)
        # literals, not names: no global lookups on the hot path
        if type(step) is not int or not -0x8000000000000000 <= step <= 0x7FFFFFFFFFFFFFFF:
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
            validate.name("metric name", key)  # what the store would refuse, refused now
            self._keys.add(key)

    @staticmethod
    def _check_step(step: Any) -> int:
        if (
            isinstance(step, bool)
            or not isinstance(step, int | float)
            or (isinstance(step, float) and not (math.isfinite(step) and step.is_integer()))
        ):
            raise InvalidInput(f"metric step must be a whole number, got {step!r}")
        if not INT64_MIN <= step <= INT64_MAX:
            raise InvalidInput(
                f"metric step {step!r} does not fit in 64 bits (-2**63 to 2**63 - 1)"
            )
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
            except (*TRANSIENT_ERRORS, KeyboardInterrupt, SystemExit):
                self._requeue(pending)  # keep the points for the next try, in order
                raise
            except Exception:
                self._write_by_key(pending)
            self._error = None  # a write went through: an earlier failure is over
            self._failures = 0

    def _requeue(self, entries: list[Entry]) -> None:
        with self._lock:
            self._pending[:0] = entries
            self._pending_points += sum(len(values) for _, _, values in entries)

    def _write_by_key(self, pending: list[Entry]) -> None:
        """Write each key's series alone; drop (and report) those the store refuses."""
        refused: dict[str, Exception] = {}
        series = _columns(pending)
        for i, (key, columns) in enumerate(series.items()):
            try:
                self._write({key: columns})
            except TRANSIENT_ERRORS:
                keep = set(list(series)[i:])
                left = [
                    (s, t, {k: v for k, v in vals.items() if k in keep}) for s, t, vals in pending
                ]
                self._requeue([e for e in left if e[2]])
                raise
            except Exception as e:
                refused[key] = e
        if refused:
            shown = "; ".join(f"{k!r}: {e}" for k, e in list(refused.items())[:3])
            raise StorageError(
                f"{len(refused)} of {len(series)} metrics could not be written and were "
                f"dropped ({shown}); the others were written"
            )

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
            # nothing is written through this buffer any more; dropping the writer (a bound
            # method of the run) breaks the run <-> buffer cycle, so both are freed at once
            # when the run is, not left to the garbage collector (one pair per run of a sweep)
            self._write = _ended
        return _columns(pending)

    def _flush_in_background(self) -> None:
        if self._failures and time.monotonic() < self._retry_at:
            return  # backing off
        try:
            self.flush()
        except TRANSIENT_ERRORS as e:  # the points are kept; try again later
            self._failures += 1
            delay = min(self._interval * 2**self._failures, MAX_BACKOFF_S)
            self._retry_at = time.monotonic() + delay
            if self._failures == 1:
                log.warning(
                    "metrics not written yet, retrying (every %.0f s at most): %s", MAX_BACKOFF_S, e
                )
        except Exception as e:  # raised to the logging thread on its next call
            self._error = e


def _ended(series: dict[str, tuple[list[int], list[int], list[float]]]) -> None:
    raise InvalidInput("the run has ended; metrics can no longer be logged to it")


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
