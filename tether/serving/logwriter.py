"""The prediction log's writer process: the segments of single-tensor models built and stored
outside the server's process.

A thread that shares the server's process shares its GIL, and each time it takes the GIL back
it waits until the busy event loop lets go of it (up to ``sys.getswitchinterval()``). Making a
segment's Arrow arrays, writing its Parquet, its object and its record take the GIL back about
sixty times, so under load the log's thread fell behind and its rows reached their bound. Here
the log's thread only gathers each drain into a few arrays (``segments.gather``, calls that keep
the GIL) and hands them to this process in one ``writev``; the process has a GIL of its own.

Parent side, ``WriterProcess``: ``send`` one drain as a frame (an 8-byte length, a JSON header,
the arrays' bytes), ``results`` for what the process reported written or dropped, ``close`` to
end its input and wait while it writes what it holds. A process that goes away loses only the
rows it was sent and had not reported; they are counted as dropped, and the log's thread writes
from then on.

Child side, ``main``: reads frames, collects them into segments (``segments.Segments``), stores
each one (``segments.store_segment``) and reports it, one JSON line per segment. It opens the
server's workspace with the server's settings; it ends when its input ends, after writing what
it holds (the server closed the log, or went away).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import struct
import subprocess
import sys
import threading
from collections import deque
from typing import Any, BinaryIO

log = logging.getLogger("tether.serving")

_FIELDS = ("times", "latencies", "counts", "rid_lengths", "rids", "inputs", "outputs")
_PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged pipe (fs.pipe-max-size)


def frame(key: tuple[str, int], rows: int, gathered: Any) -> list[Any]:
    """One drain as the buffers of a frame."""
    import numpy as np

    rids = [r.encode() for r in gathered.rids]
    arrays = {
        "times": gathered.times, "latencies": gathered.latencies, "counts": gathered.counts,
        "rid_lengths": np.fromiter(map(len, rids), "int64", len(rids)),
        "rids": np.frombuffer(b"".join(rids), np.uint8),
        "inputs": gathered.inputs, "outputs": gathered.outputs,
    }  # fmt: skip
    header = {
        "model": key[0], "version": key[1], "rows": rows,
        "arrays": [[f, arrays[f].dtype.str, list(arrays[f].shape)] for f in _FIELDS],
    }  # fmt: skip
    head = json.dumps(header).encode()
    # bytes views: dtypes without a buffer format of their own (datetimes, say) pass as bytes
    body = [np.ascontiguousarray(arrays[f]).reshape(-1).view(np.uint8).data for f in _FIELDS]
    return [struct.pack("<Q", len(head)), head, *body]


def read_frame(stream: BinaryIO) -> tuple[tuple[str, int], int, Any] | None:
    """The next drain (key, rows, ``Gathered``), or None where the input ended."""
    import numpy as np

    from tether.serving.segments import Gathered

    head = _read(stream, 8, eof_ok=True)
    if head is None:
        return None
    header = json.loads(_read(stream, struct.unpack("<Q", head)[0]).tobytes())
    arrays = {}
    for name, dtype, shape in header["arrays"]:
        dt = np.dtype(dtype)
        arrays[name] = _read(stream, math.prod(shape) * dt.itemsize).view(dt).reshape(shape)
    blob = arrays["rids"].tobytes()
    rids, at = [], 0
    for n in arrays["rid_lengths"].tolist():
        rids.append(blob[at : at + n].decode())
        at += n
    gathered = Gathered(
        header["version"], rids, arrays["times"], arrays["latencies"], arrays["counts"],
        arrays["inputs"], arrays["outputs"],
    )  # fmt: skip
    return (header["model"], header["version"]), header["rows"], gathered


def _read(stream: BinaryIO, size: int, eof_ok: bool = False) -> Any:
    import numpy as np

    out = np.empty(size, np.uint8)
    view, got = out.data, 0
    while got < size:
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            if eof_ok and got == 0:
                return None
            raise EOFError(f"the prediction log's frame ended after {got} of {size} bytes")
        got += n
    return out


class WriterProcess:
    """The server's handle on its writer process (see the module's docstring)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._results: deque[tuple[bool, int]] = deque()
        self._sent = 0  # rows; the log's thread's
        self._reported = 0  # rows; the reader thread's
        self._lost_counted = False
        self.alive = True
        self._reader = threading.Thread(
            target=self._read_reports, name="tether-prediction-log-reports", daemon=True
        )
        self._reader.start()

    @classmethod
    def start(cls, spec: dict[str, Any], segment_rows: int, flush_s: float) -> WriterProcess | None:
        """The process started, or None (logged) where it cannot be."""
        if not hasattr(os, "writev"):  # not a POSIX system: the log's thread writes
            return None
        argument = json.dumps({**spec, "segment_rows": segment_rows, "flush_s": flush_s})
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tether.serving.logwriter", argument],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                start_new_session=True,  # a terminal's Ctrl-C goes to the server, which closes it
            )  # fmt: skip
        except OSError as e:
            log.error("prediction log: no writer process (%s); writing in-process", e)
            return None
        assert proc.stdin is not None
        # a larger pipe: fewer waits for the process to read (not on Linux, or over the
        # system's limit: the default size works too)
        with contextlib.suppress(ImportError, AttributeError, OSError):
            import fcntl

            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        return cls(proc)

    def send(self, key: tuple[str, int], rows: int, gathered: Any) -> bool:
        """Hand one drain over; False (nothing sent) when the process has gone."""
        if not self.alive:
            return False
        parts = frame(key, rows, gathered)
        assert self._proc.stdin is not None
        fd = self._proc.stdin.fileno()
        try:
            written = os.writev(fd, parts)
            total = sum(len(memoryview(p)) for p in parts)
            if written < total:  # cut short by a signal: the rest, in order
                rest = memoryview(b"".join(bytes(p) for p in parts))[written:]
                while rest:
                    rest = rest[os.write(fd, rest) :]
        except OSError:  # the process went away
            self.alive = False
            return False
        self._sent += rows
        return True

    def results(self) -> list[tuple[bool, int]]:
        """(written, rows) for each segment reported since the last call; once the process
        has ended, the rows it was sent and never reported, as dropped."""
        out = []
        while self._results:
            out.append(self._results.popleft())
        if not self._reader.is_alive() and not self._lost_counted:
            self.alive = False
            self._release(5.0)
            while self._results:
                out.append(self._results.popleft())
            self._lost_counted = True
            lost = self._sent - self._reported
            if lost > 0:
                log.error("prediction log: its writer process ended; %d rows dropped", lost)
                out.append((False, lost))
        return out

    def close(self, timeout: float) -> None:
        """End the process's input; wait while it writes what it holds."""
        self._release(timeout)
        self._reader.join(timeout)

    def _release(self, timeout: float) -> None:
        """End the process's input, wait for it to end (killed past ``timeout``)."""
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("prediction log: its writer process did not finish in %s s", timeout)
            self._proc.kill()
            self._proc.wait()

    def _read_reports(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                report = json.loads(line)
                rows, written = int(report["rows"]), bool(report["written"])
            except (ValueError, KeyError, TypeError):
                continue  # not a report: ignored
            self._results.append((written, rows))
            self._reported += rows
        self._proc.stdout.close()


def main() -> None:
    import select

    from tether.serving.segments import Segments, store_segment
    from tether.serving.store_source import store_on_use
    from tether.workspace import Workspace

    # reports go to the original stdout alone: anything else printed goes to stderr
    reports = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spec = json.loads(sys.argv[1])
    workspace = Workspace(spec["root"], **spec["overrides"])
    store, objects, project = store_on_use(workspace), workspace.objects, spec["project"]
    import pyarrow as pa
    import pyarrow.parquet

    from tether.serving.memory import fix_malloc_thresholds

    # what a segment held goes back to the system when it is written: glibc's thresholds
    # fixed, low (a drain's arrays are mapped: this process answers no request), and Arrow
    # allocating through malloc (its own pool kept what a segment had used)
    fix_malloc_thresholds(256 * 1024)
    pa.set_memory_pool(pa.system_memory_pool())
    segments = Segments(int(spec["segment_rows"]), float(spec["flush_s"]))
    stream = open(0, "rb", buffering=0, closefd=False)  # noqa: SIM115
    ended = False

    def write(due: list[tuple[tuple[str, int], list[Any], int]]) -> None:
        for key, chunks, rows in due:
            try:
                store_segment(store, objects, project, key, chunks, rows)
                written = True
            except Exception as e:  # reported; the process goes on
                log.error("prediction log: %d rows of %s v%d dropped: %s", rows, *key, e)
                written = False
            reports.write(json.dumps({"rows": rows, "written": written}) + "\n")

    while not ended:
        ready, _, _ = select.select([stream], [], [], segments.wait_s())
        if ready:
            got = read_frame(stream)
            if got is None:
                ended = True
            else:
                segments.add(got[0], got[1], got[2])
        write(segments.due(ended))
    reports.close()


if __name__ == "__main__":
    main()
