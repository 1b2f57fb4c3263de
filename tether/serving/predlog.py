"""The prediction log: every request's id, time, model version, inputs, outputs and latency,
written as Parquet segments into the object store and registered in the metadata store.

``record`` only appends a tuple holding references to the request's decoded inputs and its
outputs to a bounded buffer (never blocks, copies nothing: when it is full the rows are dropped
and counted). The background thread takes everything waiting every ``drain_s`` seconds (a
deque, not a queue: no lock and no thread wake-up per request, which cost a request more than
the rest of logging together), turns it into Arrow tables, groups them by model version and
writes a segment when ``segment_rows`` rows are waiting, ``flush_s`` seconds after the first, and at
``close``. A segment that cannot be written (object store or database unreachable) is dropped
and counted; the requests it came from have long been answered.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.objects import ObjectStore
    from tether.store import Store

log = logging.getLogger(__name__)

META = ("request_id", "time", "version", "latency_ms")
# LZ4 (LZ4_RAW in the file): 50,000 S1 rows in 13.8 ms against Snappy's 19.4 and zstd's
# 26.3, for Snappy's size (1.5x zstd's). The writer shares the server's cores
COMPRESSION = "lz4"

Record = tuple[str, int, str, float, float, Any, Any, int]
"""(model, version, request id, time (epoch s), latency (s), inputs, outputs, rows)"""


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
        segment_rows: int = 50_000,
        flush_s: float = 10.0,
        drain_s: float = 0.05,
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
        self.queue_size = queue_size
        # rows taken and not yet written (or dropped): the memory bound under load, whatever
        # stage they wait in (records, drained tables, a segment being filled). Two counters,
        # each written by one thread only, so no update is lost without a lock. A row bound
        # alone is no memory bound (a row of 1,000 features is 50 of 20), so the rows waiting
        # are also bounded in bytes: rows times the largest row size seen (the writer learns it
        # from each table it builds; the first request's arrays give the first guess)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._row_bytes = 0.0
        self._taken = 0  # the event loop's
        self._done = 0  # the writer thread's
        self.dropped = 0  # rows
        self.written = 0  # rows
        self._on_written = on_written
        self._on_dropped = on_dropped
        self._buffer: deque[Record] = deque()
        self._tables: deque[tuple[tuple[str, int], int, Any]] = deque()
        self._drain_lock = threading.Lock()
        # ``process``: the workspace (root and settings) a writer process opens to write the
        # segments of single-tensor models (``tether.serving.logwriter``); None: this thread
        self._process_spec = process
        self._process: Any = None
        self._close_timeout = 30.0
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
        waiting = self._taken - self._done
        if (
            len(self._buffer) >= self.queue_size
            or waiting >= self.max_rows
            or (waiting + rows) * self._row_bytes > self.max_bytes
        ):
            self._drop(rows)
            return
        self._taken += rows
        self._buffer.append((model, version, request_id, t, latency, inputs, outputs, rows))

    @property
    def unwritten(self) -> int:
        """Rows taken that are not written or dropped yet."""
        return self._taken - self._done

    def _drop(self, rows: int) -> None:
        self.dropped += rows
        if self._on_dropped is not None:
            self._on_dropped(rows)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then stop the thread."""
        self._close_timeout = timeout
        self._stop.set()
        self._thread.join(timeout)

    def drain(self) -> None:
        """Turn the records waiting into one Arrow table per model version.

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
                        chunk = table(records)
                    nbytes = chunk.nbytes
                except Exception as e:  # inputs Arrow cannot hold: drop, never stop
                    log.error("prediction log: %d rows of %s v%d dropped: %s", rows, *key, e)
                    self._drop(rows)
                    self._done += rows
                    continue
                self._row_bytes = max(self._row_bytes, nbytes / max(rows, 1))
                self._tables.append((key, rows, chunk))

    def _loop(self) -> None:
        process = None
        if self._process_spec is not None:
            from tether.serving.logwriter import WriterProcess

            process = WriterProcess.start(self._process_spec, self.segment_rows, self.flush_s)
        if process is None:
            # imported here, while the server starts, not at the first segment under load (a
            # tenth of a second holding the GIL against the event loop)
            import pyarrow.parquet  # noqa: F401
        self._process = process
        waiting = Segments(self.segment_rows, self.flush_s)
        stop = False
        while not stop:
            stop = self._stop.wait(self.drain_s)
            self.drain()
            while self._tables:
                key, rows, chunk = self._tables.popleft()
                if (
                    process is not None
                    and isinstance(chunk, Gathered)
                    and process.send(key, rows, chunk)
                ):
                    continue
                waiting.add(key, rows, chunk)
            if process is not None:
                self._settle(process)
                if not process.alive:
                    log.error("prediction log: its writer process stopped; writing in-process")
                    process = self._process = None
            for key, chunks, rows in waiting.due(stop):
                self._write(key, chunks, rows)
        if process is not None:
            process.close(self._close_timeout)
            self._settle(process)

    def _settle(self, process: Any) -> None:
        """Count what the writer process wrote or dropped."""
        for written, rows in process.results():
            if written:
                self._written(rows)
            else:
                self._drop(rows)
                self._done += rows

    def _write(self, key: tuple[str, int], chunks: list[Any], rows: int) -> None:
        try:
            store_segment(self.store, self.objects, self.project, key, chunks, rows)
        except Exception as e:  # the log must never take the server down
            log.error("prediction log: %d rows of %s v%d dropped: %s", rows, *key, e)
            self._drop(rows)
            self._done += rows
            return
        self._written(rows)

    def _written(self, rows: int) -> None:
        self.written += rows
        self._done += rows
        if self._on_written is not None:
            self._on_written(rows)


class Segments:
    """Drains waiting to become segments, by model version: a segment is due when
    ``segment_rows`` rows wait, ``flush_s`` after its first drain, and at the end."""

    def __init__(self, segment_rows: int, flush_s: float) -> None:
        self.segment_rows = segment_rows
        self.flush_s = flush_s
        self._chunks: dict[tuple[str, int], list[Any]] = {}
        self._first: dict[tuple[str, int], float] = {}
        self._rows: dict[tuple[str, int], int] = {}

    def add(self, key: tuple[str, int], rows: int, chunk: Any) -> None:
        self._chunks.setdefault(key, []).append(chunk)
        self._first.setdefault(key, time.monotonic())
        self._rows[key] = self._rows.get(key, 0) + rows

    def due(self, stop: bool) -> list[tuple[tuple[str, int], list[Any], int]]:
        now = time.monotonic()
        out = []
        for key in list(self._chunks):
            if (
                stop
                or self._rows[key] >= self.segment_rows
                or now - self._first[key] >= self.flush_s
            ):
                del self._first[key]
                out.append((key, self._chunks.pop(key), self._rows.pop(key)))
        return out

    def wait_s(self) -> float | None:
        """Seconds until the next segment is due by time, or None when nothing waits."""
        if not self._first:
            return None
        return max(0.0, min(self._first.values()) + self.flush_s - time.monotonic())


def store_segment(
    store: Any, objects: Any, project: str, key: tuple[str, int], chunks: list[Any], rows: int
) -> None:
    """Drains of one model version as one segment, in the object store and recorded."""
    data, start, end = segment(chunks)
    digest = objects.put_bytes(data).digest
    store.add_prediction_segment(
        project, key[0], version=key[1], start_time=start, end_time=end, rows=rows,
        digest=digest,
    )  # fmt: skip


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


def _columns(prefix: str, value: Any) -> dict[str, Any]:
    """A batch of inputs or outputs as named 1-D columns."""
    import numpy as np

    if hasattr(value, "columns"):  # DataFrame
        return {f"{prefix}{c}": value[c].to_numpy() for c in value.columns}
    if hasattr(value, "column_names"):  # Arrow table
        return {f"{prefix}{c}": value.column(c).to_numpy() for c in value.column_names}
    if isinstance(value, _ByColumn):
        cols = value.columns_first
        return {f"{prefix}{j}": cols[j] for j in range(cols.shape[0])}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_columns(f"{prefix}{k}", v) if np.ndim(v) > 1 else {f"{prefix}{k}": v})
        return out
    arr = np.asarray(value)
    if arr.ndim <= 1:
        return {prefix.rstrip("_.") or "value": arr}
    flat = arr.reshape(arr.shape[0], -1)
    return {f"{prefix}{j}": flat[:, j] for j in range(flat.shape[1])}


def table(records: list[Record]) -> Any:
    """Records of one model version as an Arrow table, one row per predicted row."""
    gathered = gather(records)
    if gathered is not None:
        return _arrow_table([gathered])[0]
    import numpy as np

    from tether.serving.tensors import concat

    _model, version, rids, times, latencies, inputs, outputs, sizes = zip(*records, strict=True)
    n = len(records)
    outs = [o if type(o) is np.ndarray else _as_rows(o) for o in outputs]
    return _build(
        version[0], rids, np.fromiter(times, "float64", n), np.fromiter(latencies, "float64", n),
        np.fromiter(sizes, "int64", n), _concat_rows(list(inputs), concat),
        _concat_rows(outs, concat),
    )[0]  # fmt: skip


class Gathered:
    """One drain's records of one model version whose inputs and outputs are NumPy arrays of
    one dtype and row shape, 1-D or 2-D (every single-tensor model): the requests' fields and
    their rows joined, row-major. Made by calls that keep the GIL; ``segment`` turns the
    drains of a segment into one Arrow table."""

    __slots__ = ("counts", "inputs", "latencies", "nbytes", "outputs", "rids", "times", "version")

    def __init__(
        self, version: int, rids: list[str], times: Any, latencies: Any, counts: Any,
        inputs: Any, outputs: Any,
    ) -> None:  # fmt: skip
        self.version = version
        self.rids = rids
        self.times = times
        self.latencies = latencies
        self.counts = counts
        self.inputs = inputs
        self.outputs = outputs
        self.nbytes = inputs.nbytes + outputs.nbytes + 24 * len(rids) + 40 * len(rids)

    def joins(self, other: Gathered) -> bool:
        """Whether ``other``'s rows can follow these in one array per field."""
        return all(
            a.dtype == b.dtype and a.shape[1:] == b.shape[1:]
            for a, b in ((self.inputs, other.inputs), (self.outputs, other.outputs))
        )


def gather(records: list[Record]) -> Gathered | None:
    """``records`` as a ``Gathered``, or None where their inputs or outputs are not plain
    arrays (dicts, DataFrames, objects, more than 2 dimensions: ``table`` takes those)."""
    import numpy as np

    _model, version, rids, times, latencies, inputs, outputs, sizes = zip(*records, strict=True)
    joined_in = _plain_rows(inputs)
    if joined_in is None:
        return None
    ndarray = np.ndarray
    joined_out = _plain_rows([o if type(o) is ndarray else _as_rows(o) for o in outputs])
    n = len(records)
    counts = np.fromiter(sizes, "int64", n)
    total = int(counts.sum())
    if joined_out is None or len(joined_in) != total or len(joined_out) != total:
        return None  # ``table`` names what does not fit
    return Gathered(
        version[0], list(rids), np.fromiter(times, "float64", n),
        np.fromiter(latencies, "float64", n), counts, joined_in, joined_out,
    )  # fmt: skip


def _arrow_table(run: list[Gathered]) -> tuple[Any, set[str]]:
    """Drains whose rows join (``Gathered.joins``) as one Arrow table, with the names of its
    columns that would not compress (``_incompressible``)."""
    import numpy as np

    first = run[0]
    rids = first.rids if len(run) == 1 else [r for g in run for r in g.rids]

    def joined(field: str) -> Any:
        # few large arrays: ``np.concatenate`` copies each with the GIL released, while the
        # event loop runs (joined as bytes, a segment's 8 MB held it up for milliseconds)
        parts = [getattr(g, field) for g in run]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def by_column(field: str) -> Any:
        """Rows of 2-D arrays copied straight into the column-major layout the log stores
        (one copy, not a join and then a transpose); 1-D arrays joined."""
        parts = [getattr(g, field) for g in run]
        if parts[0].ndim == 1:
            return joined(field)
        out = np.empty((parts[0].shape[1], sum(len(p) for p in parts)), parts[0].dtype)
        at = 0
        for part in parts:
            out[:, at : at + len(part)] = part.T
            at += len(part)
        return _ByColumn(out)

    return _build(
        first.version, rids, joined("times"), joined("latencies"), joined("counts"),
        by_column("inputs"), by_column("outputs"),
    )  # fmt: skip


def _build(
    version: int, rids: Any, times: Any, latencies: Any, counts: Any, inputs: Any, outputs: Any
) -> tuple[Any, set[str]]:
    """The log's table of the requests' fields (one value per request) and their rows, with
    the names of its columns that would not compress."""
    import numpy as np
    import pyarrow as pa

    n = len(counts)
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    cols: dict[str, Any] = {
        # one string per request, not per row: dictionary-encoded (Parquet keeps it so)
        "request_id": pa.DictionaryArray.from_arrays(
            _numbers(np.repeat(np.arange(n, dtype="int32"), counts)),
            _strings(rids),
        ),
        "time": _numbers(
            np.repeat((times * 1e6).astype("int64"), counts), pa.timestamp("us", tz="UTC")
        ),
        "version": np.full(total, version, dtype="int64"),
        "latency_ms": np.repeat(latencies * 1e3, counts),
        "row": np.arange(total, dtype="int64") - np.repeat(starts, counts),
    }
    for name, col in _columns("input_", inputs).items():
        cols.setdefault(name, col)
    for name, col in _columns("prediction_", outputs).items():
        cols.setdefault(name, col)
    plain = {k for k, v in cols.items() if k not in META and _incompressible(v)}
    arrays = {k: v if isinstance(v, pa.Array) else _arrow(v) for k, v in cols.items()}
    return pa.table(arrays), plain


def _incompressible(values: Any) -> bool:
    """Whether a column of floats would gain nothing from compression: its first values have
    few zero bytes (unlike whole numbers, one-hot codes, float32 widened) and few repeats.
    LZ4 took as long as the rest of the Parquet write on such columns and saved under 1%."""
    import numpy as np

    if getattr(getattr(values, "dtype", None), "kind", "") != "f" or len(values) < 64:
        return False
    sample = np.ascontiguousarray(values[:512])
    if np.count_nonzero(sample.view(np.uint8)) < 0.75 * sample.nbytes:
        return False
    return len(set(sample.tolist())) > len(sample) // 2


class _ByColumn:
    """A 2-D batch held column by column (the transpose, contiguous): its columns are
    contiguous arrays that Arrow takes without a copy."""

    def __init__(self, columns: Any) -> None:
        self.columns_first = columns


def _concat_rows(values: list[Any], concat: Callable[[list[Any]], Any]) -> Any:
    """``values`` as one batch: plain arrays joined (``_plain_rows``), 2-D ones turned
    column-major, the layout the log stores, in one copy; anything else by ``concat``."""
    import numpy as np

    joined = _plain_rows(values)
    if joined is None:
        return concat(values)
    return joined if joined.ndim == 1 else _ByColumn(np.ascontiguousarray(joined.T))


def _plain_rows(values: Any) -> Any:
    """Arrays of one row shape, 1-D or 2-D, as one array (``_join``; dtypes that differ are
    promoted first, rare: inputs are conformed to the signature), or None."""
    import numpy as np

    first = values[0]
    if type(first) is not np.ndarray or first.ndim not in (1, 2):
        return None
    joined = _join(values)
    if joined is None and all(
        type(v) is np.ndarray and v.shape[1:] == first.shape[1:] and not v.dtype.hasobject
        for v in values
    ):
        common = np.result_type(*values)
        joined = _join([v.astype(common, copy=False) for v in values])
    return joined


def _join(values: list[Any]) -> Any:
    """Arrays of one dtype and row shape as one array, or None when they differ.

    The bytes are joined in one call that holds the GIL. ``np.concatenate`` releases and takes
    the GIL back for each array of more than 500 values it copies, and each time it takes it
    back it waits for the event loop to let go of it (up to ``sys.getswitchinterval()``, 5 ms):
    joining a drain's 125 arrays of 100 rows took 200 ms while the event loop was busy, against
    3 ms this way. Smaller arrays (single rows) keep the GIL in ``np.concatenate``, which is
    then the faster.
    """
    import numpy as np

    first = values[0]
    shape, dtype = first.shape[1:], first.dtype
    if dtype.hasobject:
        return None
    if first.size <= 500:  # small (single rows): one call checks and joins them
        try:
            joined = np.concatenate(values)
        except (ValueError, TypeError):  # row shapes differ
            return None
        ndarray = np.ndarray
        for v in values:
            if type(v) is not ndarray or (v.dtype is not dtype and v.dtype != dtype):
                return None  # dtypes differ: the caller promotes, as for large ones
        return joined
    for v in values:
        if type(v) is not np.ndarray or v.shape[1:] != shape or v.dtype != dtype:
            return None
    data = b"".join([np.ascontiguousarray(v).reshape(-1).view(np.uint8).data for v in values])
    return np.frombuffer(data, dtype).reshape(-1, *shape)


def segment(chunks: list[Any]) -> tuple[memoryview, datetime, datetime]:
    """Drains of one model version (``Gathered`` or Arrow tables) as one Parquet file (a view
    of the Arrow buffer it was written into: no copy), with the first and last row's time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables: list[Any] = []
    plain: set[str] | None = None  # columns every part found incompressible
    run: list[Gathered] = []

    def close_run() -> None:
        nonlocal plain
        if run:
            made, run_plain = _arrow_table(run)
            tables.append(made)
            plain = run_plain if plain is None else plain & run_plain
            run.clear()

    for chunk in chunks:
        if isinstance(chunk, Gathered):
            if run and not run[0].joins(chunk):
                close_run()
            run.append(chunk)
        else:
            close_run()
            tables.append(chunk)
            plain = set()
    close_run()
    whole = (
        tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    )
    requests = sum(len(c.dictionary) for c in whole["request_id"].chunks)
    # an Arrow sink, not ``io.BytesIO``: the writer would take the GIL back for every write
    # into a Python file, each time waiting for the event loop to let go of it (S1: 440 ms a
    # segment while the loop was busy, against 20 ms)
    buf = pa.BufferOutputStream()
    # dictionary-encoding every column (Parquet's default) cost 5x the rest of the write on
    # feature columns of floats; only the request ids repeat, and only where requests have
    # several rows. The writer shares the server's cores: see COMPRESSION, none for columns
    # it would not shrink, and statistics only for the columns a reader filters on
    pq.write_table(
        whole, buf,
        compression={c: "none" if c in (plain or ()) else COMPRESSION for c in whole.column_names},
        use_dictionary=["request_id"] if whole.num_rows >= 2 * requests else False,
        write_statistics=list(META),
    )  # fmt: skip
    lo, hi = _time_range(whole["time"])
    return memoryview(buf.getvalue()), _utc(lo), _utc(hi)


def _time_range(times: Any) -> tuple[int, int]:
    """The first and last of a column of timestamps, in microseconds since the epoch, read
    from its buffers: ``pyarrow.compute`` would cost the writer 9 MB of RSS for this alone, and
    ``as_py`` of a zoned timestamp imports pandas."""
    import numpy as np

    lo, hi = None, None
    for chunk in times.chunks:
        if not len(chunk):
            continue
        values = np.frombuffer(chunk.buffers()[1], np.int64, len(chunk), chunk.offset * 8)
        first, last = int(values.min()), int(values.max())
        lo = first if lo is None else min(lo, first)
        hi = last if hi is None else max(hi, last)
    if lo is None or hi is None:
        raise ValueError("a prediction log segment has no rows")
    return lo, hi


def read_segment(data: bytes) -> Any:
    """One stored segment as an Arrow table. Through ``ParquetFile``, not ``pq.read_table``:
    the dataset reader behind ``read_table`` leaves threads that can abort the interpreter at
    exit when it read from memory (apache/arrow#50482); raises ``pyarrow.ArrowException`` on
    bytes that are not Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(pa.BufferReader(data)) as f:
        return f.read()


def _utc(microseconds: int) -> datetime:
    from datetime import UTC, timedelta

    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)


def _as_rows(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict) or hasattr(value, "columns") or hasattr(value, "column_names"):
        return value
    if hasattr(value, "to_numpy"):
        return value.to_numpy()
    return np.asarray(value)


def _arrow(values: Any) -> Any:
    import pyarrow as pa

    kind = getattr(getattr(values, "dtype", None), "kind", "")
    try:
        if kind in "biuf" and kind:  # NumPy numbers: typed, Arrow takes the buffer (no scan)
            return _numbers(values)
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _numbers(values: Any, arrow_type: Any = None) -> Any:
    """A 1-D NumPy array of numbers as an Arrow array over the same bytes (NaN stays a value,
    as ``pa.array`` keeps it). Built from buffers because ``pa.array`` imports pandas, where
    it is installed, to ask whether its input is a pandas object: 35 MB and a third of a
    second in a server that otherwise never needs pandas."""
    import numpy as np
    import pyarrow as pa

    if values.dtype.kind == "b":
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, data])
    values = np.ascontiguousarray(values)
    typ = pa.from_numpy_dtype(values.dtype) if arrow_type is None else arrow_type
    return pa.Array.from_buffers(typ, len(values), [None, pa.py_buffer(values)])


def _strings(texts: Any) -> Any:
    """Python strings as an Arrow string array, without ``pa.array`` (see ``_numbers``)."""
    import numpy as np
    import pyarrow as pa

    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype="int32")
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])
