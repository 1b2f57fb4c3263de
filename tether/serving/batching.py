"""Adaptive batching: concurrent requests to one model version run as one ``predict`` call.

A batch starts as soon as the model is free; it takes every request waiting, up to ``max_batch``
rows. By default (``max_wait_s`` 0, as Triton's dynamic batcher) it does not wait for more:
requests that arrive while the model runs, or in the same turn of the event loop, form the next
batch, so batches grow with the load by themselves and a lone request is never held back
(holding each batch for 1 ms capped 16 single-row connections at about 10,000 req/s on a server
that could answer 30,000). With ``max_wait_s`` > 0, for models whose batch costs about as much
as one row (a GPU), a batch with fewer rows waits for more, but never past ``max_wait_s`` after
the oldest request arrived. Each request gets back its own rows' results, or the error of the
batch it was in.

With an executor the model runs in its thread and the event loop keeps answering; without one
it runs in the event loop itself, which saves two thread hand-offs per batch (under load, the
GIL hand-off between the loop and a model thread can cost milliseconds) but holds up every
other request while it runs: right for models that answer in well under a millisecond.

The batcher is callbacks on the event loop, not a task: ``submit_call`` queues a request with
the function its result goes to, called in the loop as soon as its batch has run. The HTTP
fast path answers from that call; ``submit`` and ``submit_nowait`` wrap it in a future for
code that awaits. A future, its done-callback's turn of the loop and a task step per batch cost
a single-row request about a microsecond.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

log = logging.getLogger(__name__)

Run = Callable[[list[Any], list[int]], list[Any]]
"""(inputs, row counts) -> one result per input, in order; runs in the executor."""
Done = Callable[[Any, BaseException | None], None]
"""Called in the event loop with (result, None), or (None, the error of the batch)."""
Delivered = Callable[[list[Any], list[Any]], None]
"""Called in the event loop once a batch's results are delivered: (the requests' tags, their
results)."""


class Batcher:
    def __init__(
        self,
        run: Run,
        executor: Executor | None,
        *,
        max_batch: int,
        max_wait_s: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
        on_delivered: Delivered | None = None,
    ) -> None:
        self._run = run
        self._executor = executor
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self._on_batch = on_batch
        self._on_delivered = on_delivered
        self._queue: deque[tuple[Any, int, Done, float, Any]] = deque()
        self._rows = 0
        # the loop of the batches under way; None when idle (taken again at the next request,
        # so that a batcher outlives an event loop, as under a test client)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._step_due = False  # a step is scheduled with call_soon
        self._running = False  # a batch is in the model thread
        self._timer: asyncio.TimerHandle | None = None  # a batch waiting for more requests

    def in_loop(self) -> None:
        """Run batches in the event loop from now on (a model that answers fast)."""
        self._executor = None

    @property
    def runs_in_loop(self) -> bool:
        return self._executor is None

    async def submit(self, value: Any, rows: int) -> Any:
        return await self.submit_nowait(value, rows)

    def submit_nowait(self, value: Any, rows: int, tag: Any = None) -> asyncio.Future[Any]:
        """Queue ``value`` (``rows`` rows); the future gets its results. Called in the loop."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.submit_call(value, rows, lambda result, error: _settle(fut, result, error), tag)
        return fut

    def submit_call(self, value: Any, rows: int, done: Done, tag: Any = None) -> None:
        """Queue ``value`` (``rows`` rows); ``done`` gets its results in the loop, never
        before this returns; ``tag`` goes to ``on_delivered`` with them. Called in the loop."""
        loop = self._loop
        if loop is None or loop.is_closed():  # idle: the first request of a run of batches
            loop = self._new_loop()
        self._queue.append((value, rows, done, loop.time(), tag))
        self._rows += rows
        if self._running or self._step_due:
            return
        if self._timer is not None:  # a batch waits for more: full now?
            if self._rows < self.max_batch:
                return
            self._timer.cancel()
            self._timer = None
        self._step_due = True
        loop.call_soon(self._step)

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, for the batches from now on. Requests left by a loop that was
        closed with them (a test client's) can no longer be answered: they are dropped."""
        self._queue.clear()
        self._rows = 0
        self._step_due = self._running = False
        self._timer = None
        self._loop = asyncio.get_running_loop()
        return self._loop

    def _step(self) -> None:
        """Run the next batch, if there is one and it need not wait for more."""
        self._step_due = False
        self._timer = None
        loop = self._loop
        if not self._queue or loop is None:
            self._loop = None
            return
        if self._rows < self.max_batch and self.max_wait_s > 0:
            left = self._queue[0][3] + self.max_wait_s - loop.time()
            if left > 0:
                self._timer = loop.call_later(left, self._step)
                return
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
        if self._executor is None:  # in the event loop: no thread hand-off
            try:
                results = self._run(values, sizes)
            except Exception as e:  # the model failed: every request of the batch gets it
                self._deliver(batch, None, e)
            else:
                self._deliver(batch, results, None)
            return
        self._running = True
        try:
            future = self._executor.submit(self._run, values, sizes)
        except RuntimeError as e:  # the executor is shut down: the server is closing
            self._running = False
            self._deliver(batch, None, e)
            return
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(self._ran, batch, f))

    def _ran(self, batch: list[tuple[Any, int, Done, float, Any]], future: Future[Any]) -> None:
        self._running = False
        error = (
            RuntimeError("the batch was cancelled") if future.cancelled() else future.exception()
        )
        self._deliver(batch, None if error is not None else future.result(), error)

    def _deliver(
        self,
        batch: list[tuple[Any, int, Done, float, Any]],
        results: Any,
        error: BaseException | None,
    ) -> None:
        """Each request's result (or the batch's error) to its callback, the batch to
        ``on_delivered``, then the next batch on the loop's next turn: requests that arrive
        meanwhile join it."""
        if error is None and len(results) != len(batch):
            error = RuntimeError(f"the batch gave {len(results)} results for {len(batch)}")
        for i, item in enumerate(batch):
            try:
                if error is None:
                    item[2](results[i], None)
                else:
                    item[2](None, error)
            except Exception:  # one request's answer failing is not the batch's
                log.exception("a request's result could not be delivered")
        if error is None and self._on_delivered is not None:
            try:
                self._on_delivered([item[4] for item in batch], results)
            except Exception:  # (the prediction log): never the requests' concern
                log.exception("a batch's results could not be handed on")
        if self._queue:
            if not self._step_due and self._loop is not None:
                self._step_due = True
                self._loop.call_soon(self._step)
        elif not self._step_due and self._timer is None:
            self._loop = None  # idle


def _settle(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():  # the awaiting request was cancelled
        return
    if error is None:
        fut.set_result(result)
    else:
        fut.set_exception(error)
