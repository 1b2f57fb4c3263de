"""The prediction log's ring: the records of single-tensor models, copied by the event loop
into memory it shares with the log's writer process (a memfd), and read from there.

Why: before, the log's thread joined each drain's arrays and wrote them into a pipe, holding
the GIL while it joined. Under S1's 100-row load that was 18 µs of every request's 110 during
which the event loop waited for the GIL, a third of the throughput; the pipe cost two more
copies. Here the event loop copies requests into the ring a few dozen at a time
(``PredictionLog.put_waiting``), one ring record per model version and format
(``put_batches``), and tells the writer process how far to read: one short line every 50 ms.

Layout: ring records one after another, each a multiple of 8 bytes: a header (``HEADER``: the
record's size, its format, its requests, their rows, the bytes of their ids, inputs and
outputs), then per request its time and latency (float64) and its rows and the end of its id
(int64), then the ids, the inputs' and the outputs' bytes, each part padded to 8. A record
that would not fit before the end starts again at 0, after a skip marker (its size and
``SKIP``) over the rest.

Who moves what: ``head`` (bytes put) only the event loop; ``sent`` (bytes the writer process was
told of) only the log's thread, by a line on the process's input (a system call: what the
event loop wrote before is seen by the process on every architecture); ``tail`` (bytes copied
out, free again) only the thread that reads the process's reports, or the log's thread where
it reads the ring itself (no writer process, or it went away).
"""

from __future__ import annotations

import functools
import os
import struct
from collections import deque
from itertools import accumulate, chain
from operator import itemgetter
from typing import Any

HEADER = struct.Struct("<IIIIIIII")  # size, format, requests, rows, bytes of ids, inputs, outputs
MARK = struct.Struct("<II")  # size, format: a record's start, or a skip marker
SKIP = 0xFFFFFFFF
RING_BYTES = 8 << 20
_NEW: Any = object()  # a record format not seen yet
_ids_of, _latencies_of, _rows_of = itemgetter(2), itemgetter(4), itemgetter(7)  # of a batch
JOIN_BYTES = 64 << 10  # arrays up to this many bytes in all are joined before they go in


@functools.cache
def meta_struct(n: int) -> struct.Struct:
    """The layout of a ring record's per-request fields, for ``n`` requests: their times and
    latencies (float64), then their rows and the ends of their ids (int64)."""
    return struct.Struct(f"<{2 * n}d{2 * n}q")


def _pad(n: int) -> int:
    return (n + 7) & ~7


class Format:
    """What a record's bytes are: the model version, and each array's dtype and row shape."""

    __slots__ = ("ident", "in_dtype", "in_shape", "model", "out_dtype", "out_shape", "version")

    def __init__(
        self, ident: int, model: str, version: int, in_dtype: str, in_shape: tuple[int, ...],
        out_dtype: str, out_shape: tuple[int, ...],
    ) -> None:  # fmt: skip
        self.ident = ident
        self.model = model
        self.version = version
        self.in_dtype = in_dtype
        self.in_shape = tuple(in_shape)
        self.out_dtype = out_dtype
        self.out_shape = tuple(out_shape)

    def to_json(self) -> list[Any]:
        return [
            self.ident, self.model, self.version, self.in_dtype, list(self.in_shape),
            self.out_dtype, list(self.out_shape),
        ]  # fmt: skip

    @classmethod
    def from_json(cls, value: list[Any]) -> Format:
        ident, model, version, in_dtype, in_shape, out_dtype, out_shape = value
        return cls(
            int(ident), str(model), int(version), str(in_dtype), tuple(in_shape), str(out_dtype),
            tuple(out_shape),
        )  # fmt: skip


class Ring:
    """The server's side: ``put`` (the event loop), ``take`` (the log's thread)."""

    def __init__(self, capacity: int = RING_BYTES) -> None:
        import mmap

        self.capacity = max(1 << 16, capacity & ~7)
        self.fd = os.memfd_create("tether-prediction-log")  # closed on exec unless passed
        try:
            os.ftruncate(self.fd, self.capacity)
            self.buf = mmap.mmap(self.fd, self.capacity)
        except OSError:
            os.close(self.fd)
            raise
        self.state = (0, 0)  # (head, rows put): one tuple, read by the log's thread at once
        self.sent = 0
        self.sent_rows = 0
        self.tail = 0
        self.formats: dict[Any, Format | None] = {}  # None: not a record for the ring
        self.by_ident: dict[int, Format] = {}
        import numpy as np

        self._ndarray = np.ndarray
        self.unsent: deque[Format] = deque()  # formats the writer process was not told of

    @classmethod
    def create(cls, capacity: int = RING_BYTES) -> Ring | None:
        """A ring, or None where the system has no memfd (the log's thread writes then)."""
        if not hasattr(os, "memfd_create"):
            return None
        try:
            return cls(capacity)
        except OSError:
            return None

    def put_records(self, records: list[Any]) -> tuple[list[Any], int, int]:
        """Copy in single requests' records, ``(model, version, id, time, latency, inputs,
        outputs, rows)``: each a batch of its own for ``put_batches``, whose records of one
        model version and format go in as one ring record. Returns (the records that are not
        for the ring, rows copied in, rows refused for want of room)."""
        return self.put_batches(
            [(m, v, [rid], t, [lat], x, y, [n]) for m, v, rid, t, lat, x, y, n in records]
        )

    def put_batches(self, batches: list[Any]) -> tuple[list[Any], int, int]:
        """Copy in whole batches, each ``(model, version, ids, time, latencies, inputs,
        outputs, rows)`` where ``ids``, ``latencies`` and ``rows`` have one item per request
        and ``inputs`` and ``outputs`` are the batch's arrays, its requests' rows one after
        another: one ring record per model version and format, each batch's arrays copied in
        whole. Returns (the requests the ring does not take, as ``put_records``' records;
        rows copied in; rows refused for want of room). Not for the ring: arrays other than
        NumPy's of one row per predicted row, 1-D or 2-D, of plain values; an id that is not
        UTF-8; a batch larger than a quarter of the ring.

        Why: a batch's arrays are already joined (the model ran on them), so the ring copies
        two arrays per batch instead of checking and joining two per request. Its requests
        have one time, that of their answers."""
        left: list[Any] = []
        groups: dict[Any, list[Any]] = {}
        ndarray = self._ndarray
        for b in batches:
            x, y, rows = b[5], b[6], b[7]
            total = sum(rows)
            if (
                type(x) is not ndarray or type(y) is not ndarray
                or len(x) != total or len(y) != total
            ):  # fmt: skip
                left += requests_of(b)
                continue
            key = (b[0], b[1], x.dtype, x.shape[1:], y.dtype, y.shape[1:])
            groups.setdefault(key, []).append(b)
        put = refused = 0
        for key, group in groups.items():
            fmt = self._format_of(key, group[0][5], group[0][6])
            if fmt is None:
                for b in group:
                    left += requests_of(b)
                continue
            more_left, more_put, more_refused = self._put_group(fmt, group)
            left += more_left
            put += more_put
            refused += more_refused
        return left, put, refused

    def _put_group(self, fmt: Format, group: list[Any]) -> tuple[list[Any], int, int]:
        """Batches of one format as one ring record (in halves where that would be larger than
        a quarter of the ring; a batch that is alone too large goes back as its requests)."""
        rids = list(chain.from_iterable(map(_ids_of, group)))
        text = "".join(rids)
        try:
            ids = text.encode()
            ends: Any = (
                accumulate(map(len, rids)) if len(ids) == len(text)
                else accumulate(len(r.encode()) for r in rids)
            )  # fmt: skip
        except UnicodeEncodeError:  # an id that is not UTF-8: its batch to the deque
            bad = [b for b in group if not _utf8(b[2])]
            good = [b for b in group if _utf8(b[2])]
            left, put, refused = self._put_group(fmt, good) if good else ([], 0, 0)
            return left + [r for b in bad for r in requests_of(b)], put, refused
        xs, ys = [b[5] for b in group], [b[6] for b in group]
        n_in, n_out = sum(x.nbytes for x in xs), sum(y.nbytes for y in ys)
        n = len(rids)
        if _size(n, len(ids), n_in, n_out) > self.capacity // 4:
            if len(group) == 1:
                return requests_of(group[0]), 0, 0
            half = len(group) // 2
            a_left, a_put, a_refused = self._put_group(fmt, group[:half])
            b_left, b_put, b_refused = self._put_group(fmt, group[half:])
            return a_left + b_left, a_put + b_put, a_refused + b_refused
        counts = list(chain.from_iterable(map(_rows_of, group)))
        times = list(chain.from_iterable([b[3]] * len(b[2]) for b in group))
        total = sum(counts)
        fields = (*times, *chain.from_iterable(map(_latencies_of, group)), *counts, *ends)
        if not self._write(fmt, n, total, ids, fields, xs, n_in, ys, n_out):
            return [], 0, total
        return [], total, 0

    def _room(self, size: int) -> int | None:
        """Where a ring record of ``size`` bytes goes (after a skip marker where it would not
        fit before the end), or None where the ring has no room for it."""
        head = self.state[0]
        cap = self.capacity
        at = head % cap
        skip = cap - at if at + size > cap else 0
        if head + skip + size - self.tail > cap:
            return None
        if skip:
            MARK.pack_into(self.buf, at, skip, SKIP)
            return 0
        return at

    def _commit(self, at: int, size: int, rows: int) -> None:
        """The record written at ``at`` is put: the head moves past it (and any skip)."""
        head, put_rows = self.state
        cap = self.capacity
        skip = cap - head % cap if at == 0 and head % cap else 0
        self.state = (head + skip + size, put_rows + rows)

    def _write(
        self, fmt: Format, n: int, rows: int, ids: bytes, fields: Any, xs: Any, n_in: int,
        ys: Any, n_out: int,
    ) -> bool:  # fmt: skip
        """One ring record of ``n`` requests (``fields``: their times, latencies, rows and ends
        of ids, as ``meta_struct`` lays them out; ``xs``, ``ys``: their arrays, ``n_in`` and
        ``n_out`` bytes), or False where there is no room."""
        size = _size(n, len(ids), n_in, n_out)
        at = self._room(size)
        if at is None:
            return False
        buf: Any = self.buf
        HEADER.pack_into(buf, at, size, fmt.ident, n, rows, len(ids), n_in, n_out, 0)
        p = at + HEADER.size
        meta_struct(n).pack_into(buf, p, *fields)
        p += 32 * n
        buf[p : p + len(ids)] = ids
        p += _pad(len(ids))
        _copy_in(buf, p, xs, n_in)
        _copy_in(buf, p + _pad(n_in), ys, n_out)
        self._commit(at, size, rows)
        return True

    def _format_of(self, key: tuple[Any, ...], inputs: Any, outputs: Any) -> Format | None:
        """The format of records keyed ``key`` (model, version, and the arrays' dtypes and
        row shapes; ``inputs`` and ``outputs`` one such record's), or None: not for the ring."""
        fmt = self.formats.get(key, _NEW)
        if fmt is _NEW:
            fmt = self.formats[key] = self._format(key[0], key[1], inputs, outputs)
        return fmt

    def _format(self, model: str, version: int, inputs: Any, outputs: Any) -> Format | None:
        for a in (inputs, outputs):
            if a.ndim not in (1, 2) or a.dtype.hasobject or a.dtype.itemsize == 0:
                return None
        fmt = Format(
            len(self.by_ident), model, version, inputs.dtype.str, inputs.shape[1:],
            outputs.dtype.str, outputs.shape[1:],
        )  # fmt: skip
        self.by_ident[fmt.ident] = fmt
        self.unsent.append(fmt)
        return fmt

    def take(self) -> tuple[int, int, list[Format]] | None:
        """What was put since the last ``take``: (head, rows, formats not yet announced), or
        None. The log's thread calls it; ``sent`` moves once it has told the process, or has
        read the records itself (``read_here``)."""
        head, rows = self.state  # first: every format a record before ``head`` uses is queued
        if head == self.sent:
            return None
        formats = []
        while self.unsent:
            formats.append(self.unsent.popleft())
        return head, rows - self.sent_rows, formats

    def mark_sent(self, head: int, rows: int) -> None:
        self.sent = head
        self.sent_rows += rows

    def read_here(self, head: int, rows: int) -> list[tuple[tuple[str, int], int, Any]]:
        """The records up to ``head`` read in this process (no writer process): they are
        copied out, and their room is free again."""
        chunks = read(self.buf, self.sent, head, self.capacity, self.by_ident)
        self.mark_sent(head, rows)
        self.tail = head
        return chunks

    def close(self) -> None:
        """Give the memory and the file back (the log is closed; ``put`` fails after)."""
        import contextlib

        with contextlib.suppress(BufferError):  # a view of it still held: freed with it
            self.buf.close()
        os.close(self.fd)


def _utf8(ids: list[str]) -> bool:
    try:
        "".join(ids).encode()
    except UnicodeEncodeError:
        return False
    return True


def requests_of(batch: Any) -> list[Any]:
    """A batch (see ``Ring.put_batches``) as one record per request, their arrays views of the
    batch's rows."""
    model, version, rids, t, latencies, x, y, rows = batch
    if len(rids) == 1:  # as it came (its arrays, whatever they are, not sliced)
        return [(model, version, rids[0], t, latencies[0], x, y, rows[0])]
    out, start = [], 0
    for rid, latency, n in zip(rids, latencies, rows, strict=True):
        end = start + n
        out.append((model, version, rid, t, latency, x[start:end], y[start:end], n))
        start = end
    return out


def _size(n: int, n_ids: int, n_in: int, n_out: int) -> int:
    """Bytes of a ring record of ``n`` requests: header, fields, ids, inputs and outputs."""
    return HEADER.size + 32 * n + _pad(n_ids) + _pad(n_in) + _pad(n_out)


def _copy_in(buf: Any, at: int, arrays: list[Any], nbytes: int) -> None:
    """``arrays``' bytes (``nbytes`` in all) one after another from ``at``: small ones joined
    in one call and copied once, large ones each copied in (a second copy would cost more
    than the calls), a view that is not contiguous as its rows."""
    if nbytes > JOIN_BYTES:
        _copy_each(buf, at, arrays)
        return
    try:
        joined = b"".join(arrays)
    except (BufferError, TypeError, ValueError):  # a view that is not contiguous
        _copy_each(buf, at, arrays)
        return
    buf[at : at + nbytes] = joined


def _copy_each(buf: Any, at: int, arrays: list[Any]) -> None:
    for a in arrays:
        if not a.flags.c_contiguous:
            a = a.copy()
        buf[at : at + a.nbytes] = a
        at += a.nbytes


def read(
    buf: Any, start: int, end: int, capacity: int, formats: dict[int, Format]
) -> list[tuple[tuple[str, int], int, Any]]:
    """The records between ``start`` and ``end`` (byte positions, ``capacity`` the ring's size),
    copied out and gathered by format: (model, version), rows, ``Gathered``. A few calls per
    ring record, none per request: the requests' fields and ids are taken as arrays and bytes."""
    import numpy as np

    from tether.serving.segments import Gathered, join_ids

    view = memoryview(buf)
    # per format: the records' fields (float64: times then latencies; int64: rows then the
    # ends of the ids, from the record's own ids), ids, inputs and outputs, as ring views
    parts: dict[int, tuple[list[Any], list[Any], list[Any], list[Any], list[Any]]] = {}
    pos = start
    unpack_mark, unpack = MARK.unpack_from, HEADER.unpack_from
    while pos < end:
        at = pos % capacity
        size, ident = unpack_mark(buf, at)
        if ident == SKIP:
            pos += size
            continue
        size, ident, n, _rows, n_rid, n_in, n_out, _ = unpack(buf, at)
        part = parts.get(ident)
        if part is None:
            part = parts[ident] = ([], [], [], [], [])
        p = at + HEADER.size
        part[0].append(np.frombuffer(buf, np.float64, 2 * n, p).reshape(2, n))
        part[1].append(np.frombuffer(buf, np.int64, 2 * n, p + 16 * n).reshape(2, n))
        p += 32 * n
        part[2].append(view[p : p + n_rid])
        p += _pad(n_rid)
        part[3].append(view[p : p + n_in])
        p += _pad(n_in)
        part[4].append(view[p : p + n_out])
        pos += size
    out = []
    for ident, (floats, ints, ids, ins, outs) in parts.items():
        fmt = formats[ident]
        fields = np.concatenate(floats, axis=1)  # copied out of the ring, as all below
        counts = np.concatenate([a[0] for a in ints])
        id_bytes, id_ends = join_ids(ids, [a[1] for a in ints])
        inputs = np.frombuffer(b"".join(ins), fmt.in_dtype).reshape(-1, *fmt.in_shape)
        outputs = np.frombuffer(b"".join(outs), fmt.out_dtype).reshape(-1, *fmt.out_shape)
        gathered = Gathered(
            fmt.version, id_bytes, id_ends, fields[0], fields[1], counts, inputs, outputs,
        )  # fmt: skip
        out.append(((fmt.model, fmt.version), len(inputs), gathered))
    return out
