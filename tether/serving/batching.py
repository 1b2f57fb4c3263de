"""Adaptive batching: concurrent requests to one model version run as one ``predict`` call.

A batch starts as soon as the model is free; it takes every request waiting, up to
``max_batch`` rows. By default (``max_wait_s`` 0, as Triton's dynamic batcher) it does not wait
for more: requests that arrive while the model runs, or in the same turn of the event loop,
form the next batch, so batches grow with the load by themselves and a lone request is never
held back (holding each batch for 1 ms capped 16 single-row connections at about 10,000 req/s
on a server that could answer 30,000). With ``max_wait_s`` > 0, for models whose batch costs
about as much as one row (a GPU), a batch with fewer rows waits for more, but never past
``max_wait_s`` after the oldest request arrived. Each request gets back its own rows' results,
or the error of the batch it was in.

With an executor the model runs in its thread and the event loop keeps answering; without one
it runs in the event loop itself, which saves two thread hand-offs per batch (under load, the
GIL hand-off between the loop and a model thread can cost milliseconds) but holds up every
other request while it runs: right for models that answer in well under a millisecond.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

Run = Callable[[list[Any], list[int]], list[Any]]
"""(inputs, row counts) -> one result per input, in order; runs in the executor."""


class Batcher:
    def __init__(
        self,
        run: Run,
        executor: Executor | None,
        *,
        max_batch: int = 1024,
        max_wait_s: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._run = run
        self._executor = executor
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self._on_batch = on_batch
        self._queue: deque[tuple[Any, int, asyncio.Future[Any], float]] = deque()
        self._rows = 0
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None  # set when max_batch rows wait

    def in_loop(self) -> None:
        """Run batches in the event loop from now on (a model that answers fast)."""
        self._executor = None

    @property
    def runs_in_loop(self) -> bool:
        return self._executor is None

    async def submit(self, value: Any, rows: int) -> Any:
        return await self.submit_nowait(value, rows)

    def submit_nowait(self, value: Any, rows: int) -> asyncio.Future[Any]:
        """Queue ``value`` (``rows`` rows); the future gets its results. Called in the loop."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._queue.append((value, rows, fut, loop.time()))
        self._rows += rows
        if self._task is None:
            self._task = loop.create_task(self._drain())
        elif self._rows >= self.max_batch and self._wake is not None:
            _resolve(self._wake)
        return fut

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                if self._rows < self.max_batch and self.max_wait_s > 0:
                    left = self._queue[0][3] + self.max_wait_s - loop.time()
                    if left > 0:  # a future and a timer: not wait_for's task per batch
                        wake = self._wake = loop.create_future()
                        timer = loop.call_later(left, _resolve, wake)
                        try:
                            await wake
                        finally:
                            timer.cancel()
                            self._wake = None
                batch = [self._queue.popleft()]
                rows = batch[0][1]
                while self._queue and rows + self._queue[0][1] <= self.max_batch:
                    item = self._queue.popleft()
                    batch.append(item)
                    rows += item[1]
                self._rows -= rows
                values = [b[0] for b in batch]
                sizes = [b[1] for b in batch]
                if self._on_batch is not None:
                    self._on_batch(rows)
                try:
                    if self._executor is None:  # in the event loop: no thread hand-off
                        results = self._run(values, sizes)
                        await asyncio.sleep(0)  # let the requests that arrived meanwhile in
                    else:
                        results = await loop.run_in_executor(
                            self._executor, self._run, values, sizes
                        )
                except Exception as e:  # the model failed: every request of the batch gets it
                    for b in batch:
                        if not b[2].done():
                            b[2].set_exception(e)
                    continue
                for b, r in zip(batch, results, strict=True):
                    if not b[2].done():
                        b[2].set_result(r)
        finally:
            self._task = None


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
