"""Run records held in memory and written later, many runs to one transaction.

A sweep that starts and ends hundreds of short runs a second would otherwise pay two
transactions per run. ``create_run(defer=True)`` and ``finish_run(defer=True)`` queue their
rows here; the store writes them on ``flush()`` (the tracking layer calls it every 0.5 s and at
exit) and before any other read or write through the same store object, so a process always
sees its own runs. A run whose creation and end fall between two flushes is inserted once, with
its final status. Nothing is written half: one flush is one transaction, and rows that failed to
write are queued again, ahead of newer ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from array import array

    Series = dict[str, tuple[array[int], array[int], array[float]]]


@dataclass
class PendingRun:
    """Everything ``create_run`` inserts for one run, as column values."""

    row: dict[str, Any]
    params: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    io: list[dict[str, Any]]
    series: Series = field(default_factory=dict)


@dataclass
class PendingFinish:
    """A ``finish_run`` of a run that is already written."""

    run_id: str
    status: str
    end_time: Any
    error: str | None
    series: Series


Writer = Callable[[list[PendingRun], list[PendingFinish]], None]


class DeferredWrites:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the queues
        self._flush_lock = threading.Lock()  # one flush at a time, readers wait for it
        self._runs: dict[str, PendingRun] = {}
        self._finishes: dict[str, PendingFinish] = {}
        self.waiting = False  # something is queued or being written

    def add_run(self, pending: PendingRun) -> None:
        with self._lock:
            self._runs[pending.row["id"]] = pending
            self.waiting = True

    def has_run(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._runs

    def finish(self, finish: PendingFinish) -> None:
        """Queue a run's end; a run still queued is ended in place and inserted once."""
        with self._lock:
            pending = self._runs.get(finish.run_id)
            if pending is not None:
                pending.row.update(
                    status=finish.status, end_time=finish.end_time, error=finish.error
                )
                pending.series = finish.series
            else:
                self._finishes[finish.run_id] = finish
            self.waiting = True

    def flush(self, write: Writer) -> None:
        with self._flush_lock:
            with self._lock:
                runs, finishes = self._runs, self._finishes
                self._runs, self._finishes = {}, {}
            if not runs and not finishes:
                return
            try:
                write(list(runs.values()), list(finishes.values()))
            except BaseException:
                with self._lock:  # keep them for the next try, before anything newer
                    self._runs = runs | self._runs
                    self._finishes = finishes | self._finishes
                raise
            finally:
                with self._lock:
                    self.waiting = bool(self._runs or self._finishes)
