"""The prediction log's writer process: the segments of single-tensor models built and stored
outside the server's process.

A thread that shares the server's process shares its GIL: each time it takes it, the event
loop waits, and on a busy machine longer than the thread's own work (it may wait for a core
while it holds the GIL). Making a segment's Arrow arrays, writing its Parquet, its object and
its record took the GIL about sixty times. Here the event loop copies each record into a ring
shared with this process (``tether.serving.logring``) and tells the process how far to read,
one short line on its input every ``PredictionLog.exchange_s``; the process has a GIL of its
own, and the server no thread that wakes per segment.

Parent side, ``WriterProcess``: ``send`` a line (how far to read, and the record formats the
process does not know yet), ``reports`` for what the process reported: the ring's room it has
copied out (which frees it for the event loop) and each segment written or dropped. Both pipes
are non-blocking: neither the event loop nor the log's thread ever waits for the process.
``close`` ends its input and waits while it writes what it holds. A process that goes away
loses only the rows it was told of and had not reported; they are counted as dropped, and the
log's thread reads the ring and writes from then on.

Child side, ``main``: reads lines, copies the records out of the ring (``logring.read``),
collects them into segments (``segments.Segments``), stores each one
(``segments.store_segment``) and reports it, one JSON line per segment. It opens the server's
workspace with the server's settings; it ends when its input ends, after writing what it holds
(the server closed the log, or went away).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from typing import Any

log = logging.getLogger("tether.serving")
SEGMENT_HEAP = 32 << 20  # glibc's largest mmap threshold: blocks below it come from the heap
# the heap's free top kept for the next segment: trimmed at the default 1 MiB, the next one
# faulted its pages in again (0.2-1.5 page faults a 100-row request under S1, 0.01 kept).
# Each segment's file goes into the last one's buffer (``segments.FileRoom``): one allocated
# and freed per segment needed 32 MiB here, and 6 MB more RSS
SEGMENT_TRIM = 8 << 20


class WriterProcess:
    """The server's handle on its writer process (see the module's docstring). Its callers
    hold the log's lock: the event loop and the log's thread both use it."""

    def __init__(self, proc: subprocess.Popen[bytes], ring: Any) -> None:
        self._proc = proc
        self._ring = ring
        assert proc.stdin is not None and proc.stdout is not None
        self._to = proc.stdin.fileno()
        self._from = proc.stdout.fileno()
        os.set_blocking(self._to, False)
        os.set_blocking(self._from, False)
        self._out = b""  # lines not yet taken by the pipe, in order
        self._in = b""  # the start of a report line not complete yet
        self._sent = 0  # rows the process was told of
        self._reported = 0  # rows it reported written or dropped
        self._open = True  # its input takes lines
        self.ready = False  # it said it is ready to write (``wait_ready``)
        self.ended = False  # its reports ended; what it was told of and never reported counted

    @property
    def alive(self) -> bool:
        return self._open and not self.ended

    @classmethod
    def start(
        cls, spec: dict[str, Any], ring: Any, segment_rows: int, flush_s: float
    ) -> WriterProcess | None:
        """The process started, reading ``ring`` (a ``logring.Ring``), or None (logged) where
        it cannot be."""
        argument = json.dumps({
            **spec, "segment_rows": segment_rows, "flush_s": flush_s, "ring_fd": ring.fd,
            "ring_bytes": ring.capacity,
        })  # fmt: skip
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tether.serving.logwriter", argument],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(ring.fd,),
                start_new_session=True,  # a terminal's Ctrl-C goes to the server, which closes it
            )  # fmt: skip
        except OSError as e:
            log.error("prediction log: no writer process (%s); writing in-process", e)
            return None
        return cls(proc, ring)

    def send(self, head: int, rows: int, formats: list[Any]) -> bool:
        """Tell the process to read the ring up to ``head`` (``rows`` more rows), with the
        record formats it has not been told of; False (nothing sent) when it has gone. A line
        the pipe cannot take now is kept and sent first next time."""
        if not self.alive:
            return False
        message = {"to": head, "rows": rows, "formats": [f.to_json() for f in formats]}
        self._out += json.dumps(message).encode() + b"\n"
        self._sent += rows
        self._flush()
        return True

    def _flush(self) -> None:
        try:
            while self._out and self._open:
                self._out = self._out[os.write(self._to, self._out) :]
        except BlockingIOError:
            return  # the process is busy: the rest goes next time
        except OSError:  # it went away: its reports end too
            self._open = False

    def reports(self) -> list[tuple[bool, int]]:
        """(written, rows) for each segment reported since the last call; the room the
        process copied out is freed in the ring. Once its reports end (it ended), the rows it
        was told of and never reported, as dropped."""
        out: list[tuple[bool, int]] = []
        if self.ended:
            return out
        self._flush()
        while True:
            try:
                data = os.read(self._from, 1 << 16)
            except BlockingIOError:
                return out
            except OSError:
                data = b""
            if not data:
                break
            *lines, self._in = (self._in + data).split(b"\n")
            for line in lines:
                self._report(line, out)
        self.ended = True  # never waited for here (the event loop calls this): see close
        lost = self._sent - self._reported
        if lost > 0:
            log.error("prediction log: its writer process ended; %d rows dropped", lost)
            out.append((False, lost))
        return out

    def _report(self, line: bytes, out: list[tuple[bool, int]]) -> None:
        try:
            report = json.loads(line)
            if "released" in report:  # room in the ring copied out: free again
                self._ring.tail = max(self._ring.tail, int(report["released"]))
                return
            if "ready" in report:
                self.ready = True
                return
            rows, written = int(report["rows"]), bool(report["written"])
        except (ValueError, KeyError, TypeError):
            return  # not a report: ignored
        out.append((written, rows))
        self._reported += rows

    def wait_ready(self, timeout: float) -> list[tuple[bool, int]]:
        """Wait until the process says it is ready to write (its imports done, its first
        segment's work done ahead: see ``_warm_up``), it ends, or ``timeout`` passes; the
        reports read meanwhile."""
        import select

        deadline = time.monotonic() + timeout
        poll = select.poll()
        poll.register(self._from, select.POLLIN)
        out: list[tuple[bool, int]] = []
        while not self.ready and not self.ended:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("prediction log: its writer process was not ready in %s s", timeout)
                break
            if poll.poll(left * 1e3):
                out += self.reports()
        return out

    def close(self, timeout: float) -> list[tuple[bool, int]]:
        """End the process's input, wait while it writes what it holds; its last reports
        (past ``timeout`` it is killed, and what it held counted as dropped)."""
        import select

        deadline = time.monotonic() + timeout
        writable = select.poll()  # not select(): a server may hold more than 1,024 files
        writable.register(self._to, select.POLLOUT)
        self._flush()
        while self._out and self._open and time.monotonic() < deadline:
            writable.poll(max(0.0, deadline - time.monotonic()) * 1e3)
            self._flush()
        self._end_input()
        out: list[tuple[bool, int]] = []
        poll = select.poll()
        poll.register(self._from, select.POLLIN)
        while not self.ended:
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("prediction log: its writer process did not finish in %s s", timeout)
                self._proc.kill()
                left = 5.0
            if poll.poll(left * 1e3):
                out += self.reports()
        self._release(max(0.0, deadline - time.monotonic()))
        return out

    def _end_input(self) -> None:
        self._open = False
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()

    def _release(self, timeout: float) -> None:
        """Wait for the process to end (killed past ``timeout``); close the pipes."""
        self._end_input()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        assert self._proc.stdout is not None
        with contextlib.suppress(OSError):
            self._proc.stdout.close()


def main() -> None:
    import mmap
    import select

    from tether.serving.logring import Format, read
    from tether.serving.segments import FileRoom, Segments, store_segment
    from tether.serving.store_source import StoreOnUse
    from tether.workspace import Workspace

    # reports go to the original stdout alone: anything else printed goes to stderr
    reports = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spec = json.loads(sys.argv[1])
    capacity = int(spec["ring_bytes"])
    ring = mmap.mmap(int(spec["ring_fd"]), capacity)
    workspace = Workspace(spec["root"], **spec["overrides"])
    store, objects, project = StoreOnUse(workspace), workspace.objects, spec["project"]
    import pyarrow as pa  # not pyarrow.parquet: see segments.write_parquet

    from tether.serving.memory import fix_malloc_thresholds

    # a segment's buffers (up to its size, 8 MB for S1) come from the heap and are reused by
    # the next one: mapping them fresh, and returning them, cost a page fault per 4 KiB
    # written, 40% of this process's CPU under S1's 100-row load. glibc's thresholds are
    # fixed (not left to grow and keep every heap) and Arrow allocates through malloc (its
    # own pool kept what a segment had used). The heap's top is trimmed past SEGMENT_TRIM
    fix_malloc_thresholds(SEGMENT_HEAP, SEGMENT_TRIM)
    pa.set_memory_pool(pa.system_memory_pool())
    segments = Segments(int(spec["segment_rows"]), float(spec["flush_s"]))
    room = FileRoom(SEGMENT_HEAP)  # each segment's file written into the last one's buffer
    _warm_up(store, objects)
    formats: dict[int, Format] = {}
    read_to = 0
    pending = b""
    ended = False
    parent = [True]  # whether the server still reads the reports

    def report(value: dict[str, Any]) -> None:
        if parent[0]:
            try:
                reports.write(json.dumps(value) + "\n")
            except OSError:  # the server went away: the segments are written all the same
                parent[0] = False

    def write(due: list[tuple[tuple[str, int], list[Any], int]]) -> None:
        for key, chunks, rows in due:
            try:
                store_segment(store, objects, project, key, chunks, rows, room)
                written = True
            except Exception as e:  # reported; the process goes on
                log.error("prediction log: %d rows of %s v%d dropped: %s", rows, *key, e)
                written = False
            report({"rows": rows, "written": written})

    report({"ready": True})
    while not ended:
        ready, _, _ = select.select([0], [], [], segments.wait_s())
        if ready:
            data = os.read(0, 1 << 16)
            ended = not data
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                message = json.loads(line)
                for value in message["formats"]:
                    fmt = Format.from_json(value)
                    formats[fmt.ident] = fmt
                to = int(message["to"])
                for key, rows, gathered in read(ring, read_to, to, capacity, formats):
                    segments.add(key, rows, gathered)
                read_to = to
            if lines:
                report({"released": read_to})
        write(segments.due(ended))
    with contextlib.suppress(OSError):
        reports.close()


def _warm_up(store: Any, objects: Any) -> None:
    """Do once, before the first segment is due, what the first segment would do first: make
    a small segment (Arrow's and Parquet's first calls), hash it as the object store would
    (its modules; a local store also looks it up, a remote one is not asked: no network while
    the server starts), and open the store's connection. The server waits for this before it
    says it is ready. Why: the first segment took 55 ms against 5 for the next ones, and
    100-row requests fill the 8 MiB ring in 45 ms: S1 dropped 30,000-67,000 rows in its first
    second. Best effort: a warm-up that fails is logged, and the segments go on as they would
    have (a store unreachable now drops and counts the rows it cannot take)."""
    import numpy as np

    from tether.objects.digest import hash_bytes
    from tether.serving.segments import Gathered, segment

    one = np.zeros(1)
    try:
        data, _, _ = segment([
            Gathered(
                0, b"warm-up", np.array([7]), one, one, np.ones(1, "int64"), np.zeros((1, 2)), one
            )
        ])  # fmt: skip
        digest = hash_bytes(data)
        if objects.is_local:
            objects.exists(digest)
        store.prepare_segments()
    except Exception as e:  # never keep the log from starting
        log.warning("prediction log: the writer's warm-up failed (%s: %s)", type(e).__name__, e)


if __name__ == "__main__":
    main()
