"""The prediction log: every request's id, time, model version, inputs, outputs and latency,
written as Parquet segments into the object store and registered in the metadata store.

``record`` and ``record_batch`` never block: when the rows waiting reach their bound they are
dropped and counted. Where the log has a writer process (``tether.serving.logwriter``),
requests to a model with one input tensor and one output are copied into the ring it shares
with that process (``tether.serving.logring``) together with the requests answered around them
(``put_waiting``: ``put_wait_s`` after the first waiting, at once when ``put_every`` requests or
``put_bytes`` wait, and at ``close``), and the process reads them there. Copied in one request
at a time, the ring cost the event loop 18 µs of a 100-row request (S1, in the running server),
its Python running cold between requests; many at a time, 8 µs. The server hands over a whole
batch at once (``record_batch``: the arrays the model ran on, and its requests' ids,
latencies and rows), not a record per request: in the running server under S1's single-row
load, 2.8 µs of the event loop per request against 4.5 (timed in place). Every
``exchange_s`` (or when a quarter of the ring waits) the event loop tells the process how far
to read, and reads its reports (``_exchange``, never waiting). Any other request's record is
a tuple holding references to its decoded inputs and its outputs, appended to a deque (no lock
and no thread wake-up per request, which cost a request more than the rest of logging
together). Every ``drain_s`` seconds the background thread gathers the deque's records by
model version (``tether.serving.segments``), and does the exchange where the event loop has
not (traffic stopped). A segment is written when ``segment_rows`` rows are waiting,
``flush_s`` seconds after the first, and at ``close``: by the writer process for the ring's
records, by the thread for the others (and for the ring's, where there is no process). A
segment that cannot be written (object store or database unreachable) is dropped and counted;
the requests it came from have long been answered.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tether.serving.segments import (
    Record,
    Segments,
    gather,
    general_table,
    store_segment,
)

if TYPE_CHECKING:
    from tether.objects import ObjectStore
    from tether.store import Store

log = logging.getLogger(__name__)
WRITER_READY_S = 10.0  # the longest the log waits for its writer process to be ready


class PredictionLog:
    def __init__(
        self,
        store: Store,
        objects: ObjectStore,
        project: str,
        *,
        sample: float = 1.0,
        queue_size: int = 10_000,
        max_rows: int = 200_000,
        max_bytes: int = 32 * 2**20,
        segment_rows: int = 25_000,
        flush_s: float = 10.0,
        drain_s: float = 0.05,
        exchange_s: float = 0.05,
        ring_bytes: int | None = None,
        put_every: int = 64,
        put_wait_s: float = 0.005,
        put_bytes: int = 1 << 20,
        on_written: Callable[[int], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
        process: dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.objects = objects
        self.project = project
        self.sample = sample
        self.segment_rows = segment_rows
        self.flush_s = flush_s
        self.drain_s = min(drain_s, flush_s)
        self.exchange_s = exchange_s
        self.put_every = put_every
        self.put_wait_s = put_wait_s
        self.put_bytes = put_bytes
        self._next_exchange = 0.0
        self.queue_size = queue_size
        # rows taken and not yet written (or dropped): the memory bound under load, whatever
        # stage they wait in (records, drained tables, a segment being filled). ``_taken`` is
        # the event loop's alone; ``_done`` and the counters beside it change under ``_lock``
        # (the event loop counts the writer process's reports too, see ``_exchange``). A row bound
        # alone is no memory bound (a row of 1,000 features is 50 of 20), so the rows waiting
        # are also bounded in bytes: rows times the largest row size seen (the writer learns it
        # from each table it builds; the first request's arrays give the first guess)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._row_bytes = 0.0
        self._taken = 0  # the event loop's
        self._done = 0  # under _lock
        self._refused = 0  # rows dropped when taken: the event loop's
        self._lost = 0  # rows dropped after they were taken: under _lock
        self._lock = threading.Lock()
        self.written = 0  # rows
        self._on_written = on_written
        self._on_dropped = on_dropped
        self._buffer: deque[Record] = deque()
        self._tables: deque[tuple[tuple[str, int], int, Any]] = deque()
        self._drain_lock = threading.Lock()
        # ``process``: the workspace (root and settings) a writer process opens to write the
        # segments of single-tensor models (``tether.serving.logwriter``); None: this thread
        self._process_spec = process
        self._process: Any = None  # the started WriterProcess, while it writes
        self._ring: Any = None
        self._put_timer: Any = None  # the event loop's timer that puts ``_pending``
        self._put_soon = False
        self._pending_rows = 0
        self._pending_requests = 0
        self._pending: list[Record] = []  # records waiting for the ring: the event loop's
        self._batches: list[Any] = []  # batches waiting for the ring (``record_batch``)
        if process is not None:
            from tether.serving.logring import RING_BYTES, Ring

            self._ring = Ring.create(ring_bytes or RING_BYTES)
        self._close_timeout = 30.0
        self._ready = threading.Event()  # the writer process is ready, or there is none
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="tether-prediction-log", daemon=True
        )
        self._thread.start()

    def record(
        self, model: str, version: int, request_id: str, t: float, latency: float,
        inputs: Any, outputs: Any, rows: int,
    ) -> None:  # fmt: skip
        if self.sample < 1.0 and random.random() >= self.sample:
            return
        if not self._row_bytes:
            self._row_bytes = _row_bytes(inputs, outputs, rows)
        waiting = self._taken - self._done + self._pending_rows
        if (
            len(self._buffer) >= self.queue_size
            or waiting >= self.max_rows
            or (waiting + rows) * self._row_bytes > self.max_bytes
        ):
            self._refuse(rows)
            return
        record = (model, version, request_id, t, latency, inputs, outputs, rows)
        if self._ring is not None:  # copied in many requests at a time: put_waiting
            self._pending.append(record)
            self._pending_rows += rows
            self._pending_requests += 1
            self._put_after()
            return
        self._taken += rows
        self._buffer.append(record)

    def record_batch(
        self, model: str, version: int, request_ids: list[str], t: float,
        latencies: list[float], inputs: Any, outputs: Any, rows: list[int],
    ) -> None:  # fmt: skip
        """Log a batch's requests at once: ``inputs`` and ``outputs`` are the batch's NumPy
        arrays (its requests' rows one after another, ``rows`` each), ``t`` the time of their
        answers. With the ring, the batch goes in whole (``Ring.put_batches``): the event loop
        spends a few calls per batch, not a ``record`` per request. Otherwise, and when
        sampling, each request is recorded as by ``record``."""
        batch = (model, version, request_ids, t, latencies, inputs, outputs, rows)
        if self._ring is None or self.sample < 1.0:
            for record in _requests([batch]):
                self.record(*record)
            return
        total = sum(rows)
        if not self._row_bytes:
            self._row_bytes = max(64.0, (inputs.nbytes + outputs.nbytes) / max(total, 1))
        waiting = self._taken - self._done + self._pending_rows
        if waiting + total > self.max_rows or (waiting + total) * self._row_bytes > self.max_bytes:
            self._refuse(total)
            return
        self._batches.append(batch)
        self._pending_rows += total
        self._pending_requests += len(rows)
        self._put_after()

    def _put_after(self) -> None:
        """``put_waiting`` soon: at once when enough waits, else ``put_wait_s`` after the
        first record waiting."""
        if self._put_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not in an event loop: now
                self.put_waiting()
                return
            self._put_timer = loop.call_later(self.put_wait_s, self.put_waiting)
            self._put_soon = False
        elif not self._put_soon and (
            self._pending_requests >= self.put_every
            or self._pending_rows * self._row_bytes >= self.put_bytes
        ):
            self._put_timer.cancel()
            self._put_timer = asyncio.get_running_loop().call_soon(self.put_waiting)
            self._put_soon = True

    def put_waiting(self) -> None:
        """Copy the batches and records waiting for the ring in now, one ring record per model
        version (``Ring.put_batches``, then ``Ring.put_records`` for single records and the
        requests of batches not taken whole): per request, a fraction of a ``put`` of its own.
        What the ring does not take goes to the deque. Called on the event loop's thread: by
        its timer, at its shutdown, by ``close``."""
        if self._put_timer is not None:
            self._put_timer.cancel()  # (this call may be the timer: then nothing to cancel)
            self._put_timer = None
        pending, self._pending = self._pending, []
        batches, self._batches = self._batches, []
        self._pending_rows = self._pending_requests = 0
        if not pending and not batches:
            return
        ring = self._ring
        left = pending
        if ring is not None:
            try:
                left, put, refused = ring.put_batches(batches) if batches else ([], 0, 0)
                if pending or left:  # (``left``: requests of batches not taken whole)
                    left, more_put, more_refused = ring.put_records(pending + left)
                    put, refused = put + more_put, refused + more_refused
            except ValueError:  # the log closed its ring meanwhile: not written, as below
                left, put, refused = pending + _requests(batches), 0, 0
            self._taken += put
            if refused:  # the ring is full: the writer process is behind
                self._refuse(refused)
            # the process is told every ``exchange_s``, or when a quarter of the ring waits
            # for it (100-row requests fill S1's 8 MB in 50 ms)
            t = max(r[3] for r in (pending[-1:] + batches[-1:]))
            if self._process is not None and (
                t >= self._next_exchange or ring.state[0] - ring.sent > ring.capacity >> 2
            ):
                self._next_exchange = t + self.exchange_s
                self._exchange(blocking=False)
        for record in left:
            self._taken += record[7]
            self._buffer.append(record)

    def _refuse(self, rows: int) -> None:
        self._refused += rows
        if self._on_dropped is not None:
            self._on_dropped(rows)

    @property
    def unwritten(self) -> int:
        """Rows taken that are not written or dropped yet."""
        return self._taken - self._done

    @property
    def dropped(self) -> int:
        """Rows dropped: refused when the buffer was full, or lost on the way to a segment."""
        return self._refused + self._lost

    def _drop(self, rows: int) -> None:
        """``rows`` taken are lost (under ``_lock``)."""
        self._lost += rows
        self._done += rows
        if self._on_dropped is not None:
            self._on_dropped(rows)

    def wait_ready(self, timeout: float = WRITER_READY_S) -> bool:
        """Wait until the log can write at full speed: its writer process started and ready
        (or none will be). The server waits for this before it says it is ready: until then
        the ring would take 45 ms of 100-row requests, and drop the rest."""
        return self._ready.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then stop the thread. Called from the event loop's thread,
        or once nothing records any more (the records not yet in the ring go in first)."""
        self.put_waiting()
        self._close_timeout = timeout
        self._stop.set()
        self._thread.join(timeout)

    def drain(self) -> None:
        """Gather the records waiting into one chunk per model version (``gather``, or an
        Arrow table for models whose inputs or outputs are not plain arrays).

        The writer thread calls this every ``drain_s``; done in the event loop instead, it cost
        a 100-row request 50 µs. Whatever the writer does, it does in few calls that release
        the GIL: each time this thread takes the GIL back it waits until the busy event loop
        lets go of it (up to ``sys.getswitchinterval()``), so a drain that released it once per
        request (``np.concatenate``) and a Parquet write into a Python file (a callback per
        page) kept the writer waiting so long that it dropped a quarter of S1's rows. Each
        drain's records become a few NumPy arrays at once (``gather``), joined by calls that
        keep the GIL: a few objects held until the segment is written, not a tuple and two
        arrays per request for the garbage collector to scan. Arrow arrays are made once per
        segment, not per drain: making each one releases the GIL (``validate``), and under
        load each release cost the writer a wait for the event loop.
        """
        with self._drain_lock:
            buffer = self._buffer
            drained: dict[tuple[str, int], list[Record]] = {}
            while buffer:
                item = buffer.popleft()
                drained.setdefault((item[0], item[1]), []).append(item)
            for key, records in drained.items():
                rows = sum(r[7] for r in records)
                try:
                    chunk: Any = gather(records)
                    if chunk is None:  # not plain arrays: an Arrow table now
                        chunk = general_table(records)
                    nbytes = chunk.nbytes
                except Exception as e:  # inputs Arrow cannot hold: drop, never stop
                    log.error("prediction log: %d rows of %s v%d dropped: %s", rows, *key, e)
                    with self._lock:
                        self._drop(rows)
                    continue
                self._row_bytes = max(self._row_bytes, nbytes / max(rows, 1))
                self._tables.append((key, rows, chunk))

    def _loop(self) -> None:
        if self._ring is not None:
            from tether.serving.logwriter import WriterProcess

            process = WriterProcess.start(
                self._process_spec or {}, self._ring, self.segment_rows, self.flush_s
            )
            reported = [] if process is None else process.wait_ready(WRITER_READY_S)
            with self._lock:
                self._process = process
                self._count(reported)
        self._ready.set()
        if self._process is None:
            # imported here, while the server starts, not at the first segment under load (a
            # tenth of a second holding the GIL against the event loop)
            from tether.serving.segments import import_parquet_writer

            import_parquet_writer()
        waiting = Segments(self.segment_rows, self.flush_s)
        stop = False
        while not stop:
            stop = self._stop.wait(self.drain_s)
            self._exchange(blocking=True)
            self._settle()
            self.drain()
            while self._tables:
                waiting.add(*self._tables.popleft())
            for key, chunks, rows in waiting.due(stop):
                self._write(key, chunks, rows)
        with self._lock:
            process, self._process = self._process, None
            if process is not None:
                self._count(process.close(self._close_timeout))
            ring, self._ring = self._ring, None
            if ring is not None:  # records after this go to the deque, never written
                ring.close()

    def _exchange(self, *, blocking: bool) -> None:
        """With the writer process: count its reports (the ring's room it freed, segments
        written or dropped) and tell it how far the ring was filled. The event loop calls
        this every ``exchange_s`` while it logs (never waiting: it skips a turn when the log's
        thread holds the lock), the log's thread every ``drain_s``."""
        if not self._lock.acquire(blocking):
            return
        try:
            process = self._process
            if process is None or not process.alive:
                return
            self._count(process.reports())
            taken = self._ring.take()
            if taken is not None and process.send(*taken):
                self._ring.mark_sent(taken[0], taken[1])
        finally:
            self._lock.release()

    def _count(self, results: list[tuple[bool, int]]) -> None:
        for written, rows in results:
            if written:
                self._written(rows)
            else:
                self._drop(rows)

    def _settle(self) -> None:
        """The log's thread, once the writer process has ended or could not start: count what
        it was told of and never reported as dropped, then read the ring here from then on."""
        ring = self._ring
        if ring is None:
            return
        with self._lock:
            process = self._process
            if process is not None:
                if process.alive:
                    return
                log.error("prediction log: its writer process stopped; writing in-process")
                self._count(process.close(5.0))
                self._process = None
                ring.tail = ring.sent  # its room: what the process was told of is dropped
            taken = ring.take()
            if taken is None:
                return
            try:
                self._tables.extend(ring.read_here(taken[0], taken[1]))
            except Exception as e:  # never stop the log
                log.error("prediction log: %d rows dropped: %s", taken[1], e)
                self._drop(taken[1])

    def _write(self, key: tuple[str, int], chunks: list[Any], rows: int) -> None:
        try:
            store_segment(self.store, self.objects, self.project, key, chunks, rows)
        except Exception as e:  # the log must never take the server down
            log.error("prediction log: %d rows of %s v%d dropped: %s", rows, *key, e)
            with self._lock:
                self._drop(rows)
            return
        with self._lock:
            self._written(rows)

    def _written(self, rows: int) -> None:
        """``rows`` taken are written (under ``_lock``)."""
        self.written += rows
        self._done += rows
        if self._on_written is not None:
            self._on_written(rows)


def _requests(batches: list[Any]) -> list[Record]:
    from tether.serving.logring import requests_of

    return [r for b in batches for r in requests_of(b)]


def _row_bytes(inputs: Any, outputs: Any, rows: int) -> float:
    """A first guess of a logged row's size, before the writer has measured one: the bytes of
    the arrays given (numbers of 8 bytes where they are not arrays), at least 64."""
    total = 0
    for value in (inputs, outputs):
        parts = value.values() if isinstance(value, dict) else [value]
        for part in parts:
            nbytes = getattr(part, "nbytes", None)
            total += nbytes if isinstance(nbytes, int) else 8 * rows
    return max(64.0, total / max(rows, 1))
