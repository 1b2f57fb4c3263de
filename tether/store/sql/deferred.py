"""Run records held in memory and written later, many runs to one transaction.

A sweep that starts and ends hundreds of short runs a second would otherwise pay two
transactions per run. ``create_run(defer=True)`` and ``finish_run(defer=True)`` queue their
rows here; the store writes them on ``flush()`` (the tracking layer calls it every 0.5 s and at
exit) and before any other read or write through the same store object, so a process always
sees its own runs. A run whose creation and end fall between two flushes is inserted once, with
its final status. Nothing is written half: one flush is one transaction, and rows that failed to
write for a passing reason (the store busy or unreachable) are queued again, ahead of newer ones.
A batch that fails for any other reason is split in halves until the run that the database
refuses is alone: every other run is written, and only that one is dropped and reported
(``DeferredWriteFailed``), so one bad value never loses the other runs of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.errors import TetherError
from tether.store.errors import TRANSIENT_ERRORS as TRANSIENT
from tether.store.errors import DeferredWriteFailed

if TYPE_CHECKING:
    # (chunk rows, summary rows), as tether.store.sql.metrics.series_rows makes them
    SeriesRows = tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]


@dataclass
class PendingRun:
    """Everything ``create_run`` inserts for one run, as column values (``info`` as JSON text,
    not in ``row``)."""

    row: dict[str, Any]
    info_json: str
    params: Sequence[dict[str, Any]]
    tags: Sequence[dict[str, Any]]
    io: Sequence[dict[str, Any]]
    series: SeriesRows = ((), ())  # the rows of its metrics (``metrics.series_rows``)


@dataclass
class PendingFinish:
    """A ``finish_run`` of a run that is already written."""

    run_id: str
    status: str
    end_time: Any
    error: str | None
    series: SeriesRows


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
            items: list[PendingRun | PendingFinish] = [*runs.values(), *finishes.values()]
            done: set[int] = set()  # id() of the items written, or dropped as refused
            try:
                try:
                    _write_items(write, items)
                    done.update(map(id, items))
                except (*TRANSIENT, KeyboardInterrupt, SystemExit):
                    raise
                except Exception:
                    failed = _split(write, items, done)
                    if failed:
                        raise DeferredWriteFailed(failed, len(items)) from None
            except DeferredWriteFailed:
                raise
            except BaseException:
                with self._lock:  # keep the rest for the next try, before anything newer
                    self._runs = {k: v for k, v in runs.items() if id(v) not in done} | self._runs
                    self._finishes = {
                        k: v for k, v in finishes.items() if id(v) not in done
                    } | self._finishes
                raise
            finally:
                with self._lock:
                    self.waiting = bool(self._runs or self._finishes)


def _write_items(write: Writer, items: list[PendingRun | PendingFinish]) -> None:
    write(
        [i for i in items if isinstance(i, PendingRun)],
        [i for i in items if isinstance(i, PendingFinish)],
    )


def _split(
    write: Writer, items: list[PendingRun | PendingFinish], done: set[int]
) -> list[tuple[str, str]]:
    """Write ``items`` in halves, in order (parents before children), adding each one written
    or refused to ``done``; ``(run id, reason)`` of each one that fails alone. A passing error
    stops the split and is raised."""
    if len(items) > 1:
        half = len(items) // 2
        return _split(write, items[:half], done) + _split(write, items[half:], done)
    try:
        _write_items(write, items)
    except TRANSIENT:
        raise
    except Exception as e:
        item = items[0]
        done.add(id(item))
        run_id = item.row["id"] if isinstance(item, PendingRun) else item.run_id
        reason = str(e) if isinstance(e, TetherError) else f"{type(e).__name__}: {e}"
        return [(run_id, reason)]
    done.add(id(items[0]))
    return []
