"""One background thread per process that runs periodic tasks: metric flushes, heartbeats.

A thread per run would cost a start and a join for every run of a sweep; tasks here are plain
callables with an interval. ``wake()`` makes the thread look at its tasks at once (a metric
buffer that filled up). A task that raises is dropped after its error is logged; the owner of
the task is expected to record the error where its caller will see it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[int, tuple[float, float, Callable[[], None]]] = {}
        self._on_wake: set[int] = set()
        self._next_id = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, interval: float, task: Callable[[], None], *, on_wake: bool = False) -> int:
        """Run ``task`` every ``interval`` seconds (and on ``wake()`` if ``on_wake``)."""
        with self._lock:
            self._next_id += 1
            self._tasks[self._next_id] = (interval, time.monotonic(), task)
            if on_wake:
                self._on_wake.add(self._next_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="tether-ticker", daemon=True
                )
                self._thread.start()
            return self._next_id

    def remove(self, task_id: int) -> None:
        with self._lock:
            self._tasks.pop(task_id, None)
            self._on_wake.discard(task_id)

    def wake(self) -> None:
        self._wake.set()

    def _due(self) -> tuple[list[tuple[int, Callable[[], None]]], float]:
        now = time.monotonic()
        due, wait = [], 1.0
        with self._lock:
            for task_id, (interval, last, task) in self._tasks.items():
                left = last + interval - now
                if left <= 0:
                    due.append((task_id, task))
                    self._tasks[task_id] = (interval, now, task)
                    left = interval
                wait = min(wait, left)
        return due, wait

    def _loop(self) -> None:
        wait = 0.0
        while True:
            woken = self._wake.wait(wait)
            self._wake.clear()
            due, wait = self._due()
            if woken:  # a buffer filled up: run the tasks that asked for it, due or not
                with self._lock:
                    extra = [(i, self._tasks[i][2]) for i in self._on_wake if i in self._tasks]
                due += [task for task in extra if task[0] not in {i for i, _ in due}]
            for task_id, task in due:
                try:
                    task()
                except Exception as e:
                    log.error("background task failed: %s", e)
                    self.remove(task_id)


ticker = Ticker()
