"""The prediction log's segments: drains of requests gathered into arrays (``gather``),
turned into Arrow tables and written as Parquet (``segment``), stored and recorded
(``store_segment``), collected until due (``Segments``), and read back (``read_segment``).
Used by the log's thread (``tether.serving.predlog``) and its writer process
(``tether.serving.logwriter``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

META = ("request_id", "time", "version", "latency_ms")
# LZ4 (LZ4_RAW in the file): 50,000 S1 rows in 13.8 ms against Snappy's 19.4 and zstd's
# 26.3, for Snappy's size (1.5x zstd's). The writer shares the server's cores
COMPRESSION = "lz4"
# rows are turned into columns this many bytes of rows at a time: a 25,000-row segment of
# 20 float64 features in 0.55 ms against 0.84 at once (the rows read 20 times from the cache)
TRANSPOSE_BYTES = 64 << 10
INT32_OFFSETS = 2**31 - 1  # the most bytes an Arrow string array (not a large one) holds
WRITE_BATCH = 1 << 16  # values the Parquet writer takes at a time (1,024 by default): 8% less

Record = tuple[str, int, str, float, float, Any, Any, int]
"""(model, version, request id, time (epoch s), latency (s), inputs, outputs, rows)"""


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
    store: Any, objects: Any, project: str, key: tuple[str, int], chunks: list[Any], rows: int,
    room: FileRoom | None = None,
) -> None:  # fmt: skip
    """Drains of one model version as one segment, in the object store and recorded
    (``room``: see ``segment``)."""
    data, start, end = segment(chunks, room)
    digest = objects.put_bytes(data).digest
    store.add_prediction_segment(
        project, key[0], version=key[1], start_time=start, end_time=end, rows=rows,
        digest=digest,
    )  # fmt: skip


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
    return general_table(records) if gathered is None else _arrow_table([gathered])[0]


def general_table(records: list[Record]) -> Any:
    """``table`` of records whose inputs or outputs are not plain arrays (``gather`` gave
    None): dicts of arrays, DataFrames, Arrow tables, more than two dimensions."""
    import numpy as np

    from tether.serving.tensors import concat

    _model, version, rids, times, latencies, inputs, outputs, sizes = zip(*records, strict=True)
    n = len(records)
    outs = [o if type(o) is np.ndarray else _as_rows(o) for o in outputs]
    return _build(
        version[0], _strings(*encode_ids(rids)), np.fromiter(times, "float64", n),
        np.fromiter(latencies, "float64", n), np.fromiter(sizes, "int64", n),
        _concat_rows(list(inputs), concat), _concat_rows(outs, concat),
    )[0]  # fmt: skip


def encode_ids(rids: Any) -> tuple[bytes, Any]:
    """Request ids as the log keeps them before its table: their UTF-8 bytes one after another,
    and where each one ends (int64)."""
    import numpy as np

    encoded = [r.encode() for r in rids]
    return b"".join(encoded), np.cumsum(np.fromiter(map(len, encoded), "int64", len(encoded)))


def join_ids(blobs: list[Any], ends: list[Any]) -> tuple[bytes, Any]:
    """Several runs of ids (``encode_ids``'s form: each run's bytes, and where each of its ids
    ends in them) as one: the bytes joined, each run's ends moved past the runs before it (a
    new array, never a view of what it was given)."""
    import numpy as np

    data = b"".join(blobs)
    if len(ends) == 1:
        return data, np.array(ends[0], dtype="int64")
    shifts = np.cumsum([0] + [len(b) for b in blobs[:-1]])
    return data, np.concatenate([e + shift for e, shift in zip(ends, shifts, strict=True)])


@dataclass(slots=True)
class Gathered:
    """One drain's records of one model version whose inputs and outputs are NumPy arrays of
    one dtype and row shape, 1-D or 2-D (every single-tensor model): the requests' fields and
    their rows joined, row-major. Made by calls that keep the GIL; ``segment`` turns the
    drains of a segment into one Arrow table. The request ids stay bytes (``encode_ids``): the
    writer process reads them out of the ring as they are and Arrow takes them as they are,
    with no Python string per request in between."""

    version: int
    ids: bytes  # the requests' ids, UTF-8, one after another
    id_ends: Any  # int64 per request: where its id ends in ``ids``
    times: Any  # float64 per request (epoch s)
    latencies: Any  # float64 per request (s)
    counts: Any  # int64 per request: its rows
    inputs: Any
    outputs: Any

    @property
    def nbytes(self) -> int:
        # a request's time, latency and row count (24 bytes) and its id (about 40)
        return int(self.inputs.nbytes + self.outputs.nbytes + 24 * len(self.counts)) + len(self.ids)

    @property
    def rids(self) -> list[str]:
        """The request ids as strings."""
        from itertools import pairwise

        return [self.ids[a:b].decode() for a, b in pairwise([0, *self.id_ends.tolist()])]

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
        version[0], *encode_ids(rids), np.fromiter(times, "float64", n),
        np.fromiter(latencies, "float64", n), counts, joined_in, joined_out,
    )  # fmt: skip


def _arrow_table(run: list[Gathered]) -> tuple[Any, set[str]]:
    """Drains whose rows join (``Gathered.joins``) as one Arrow table, with the names of its
    columns that would not compress (``_incompressible``)."""
    import numpy as np

    first = run[0]
    if len(run) == 1:
        ids = _strings(first.ids, first.id_ends)
    else:
        ids = _strings(*join_ids([g.ids for g in run], [g.id_ends for g in run]))

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
        step = max(1, TRANSPOSE_BYTES // max(1, parts[0][:1].nbytes))
        at = 0
        for part in parts:  # a block of rows at a time: each block's rows stay in the cache
            for i in range(0, len(part), step):
                block = part[i : i + step]
                out[:, at + i : at + i + len(block)] = block.T
            at += len(part)
        return _ByColumn(out)

    return _build(
        first.version, ids, joined("times"), joined("latencies"), joined("counts"),
        by_column("inputs"), by_column("outputs"),
    )  # fmt: skip


def _build(
    version: int, ids: Any, times: Any, latencies: Any, counts: Any, inputs: Any, outputs: Any
) -> tuple[Any, set[str]]:
    """The log's table of the requests' fields (one value per request; ``ids`` an Arrow string
    array) and their rows, with the names of its columns that would not compress."""
    import numpy as np
    import pyarrow as pa

    n = len(counts)
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    cols: dict[str, Any] = {
        # one string per request, not per row: dictionary-encoded (Parquet keeps it so)
        "request_id": pa.DictionaryArray.from_arrays(
            _numbers(np.repeat(np.arange(n, dtype="int32"), counts)), ids
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
    plain = _incompressible({k: v for k, v in cols.items() if k not in META})
    arrays = {k: v if isinstance(v, pa.Array) else _arrow(v) for k, v in cols.items()}
    # columns without nulls are required: Parquet then writes no definition level per value
    # (12% of the write on S1's features)
    schema = pa.schema([pa.field(k, a.type, nullable=a.null_count > 0) for k, a in arrays.items()])
    return pa.Table.from_arrays(list(arrays.values()), schema=schema), plain


SAMPLE = 512  # values a column is judged on


def _incompressible(columns: dict[str, Any]) -> set[str]:
    """The float columns that would gain nothing from compression: their first values have
    few zero bytes (unlike whole numbers, one-hot codes, float32 widened) and few repeats.
    LZ4 took as long as the rest of the Parquet write on such columns and saved under 1%.
    The columns of one dtype are judged together, in a few NumPy calls: one call per column
    (``np.unique``) cost a 100-row request 2.2 µs of the writer's 19."""
    import numpy as np

    groups: dict[Any, list[str]] = {}
    for name, values in columns.items():
        dtype = getattr(values, "dtype", None)
        if dtype is not None and dtype.kind == "f" and len(values) >= 64:
            groups.setdefault(dtype, []).append(name)
    out: set[str] = set()
    for dtype, names in groups.items():
        n = min(SAMPLE, *(len(columns[k]) for k in names))
        sample = np.stack([columns[k][:n] for k in names])  # one row per column
        nonzero = np.count_nonzero(sample.view(np.uint8).reshape(len(names), -1), axis=1)
        ordered = np.sort(sample, axis=1)
        distinct = 1 + np.count_nonzero(ordered[:, 1:] != ordered[:, :-1], axis=1)
        wanted = (nonzero >= 0.75 * n * dtype.itemsize) & (distinct > n // 2)
        out.update(k for k, plain in zip(names, wanted.tolist(), strict=True) if plain)
    return out


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


class FileRoom:
    """A buffer kept for the next segment's file (the log's writer process holds one): one
    allocated per segment came from the heap's top and went back to it, and the heap was
    trimmed or faulted its pages in again. Buffers above ``keep`` bytes (a wide model's) are
    not kept."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._buffer: Any = None

    def take(self, size: int) -> Any:
        import pyarrow as pa

        if self._buffer is not None and self._buffer.size >= size:
            return self._buffer
        self._buffer = None
        buffer = pa.allocate_buffer(size)
        if size <= self.keep:
            self._buffer = buffer
        return buffer


def segment(
    chunks: list[Any], room: FileRoom | None = None
) -> tuple[memoryview, datetime, datetime]:
    """Drains of one model version (``Gathered`` or Arrow tables) as one Parquet file (a view
    of the Arrow buffer it was written into: no copy), with the first and last row's time.
    ``chunks`` is emptied once they are in the table, so that their memory can be reused.
    With a ``room``, the file is written into its buffer: the view is valid until the next
    segment written there."""
    import pyarrow as pa

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
    chunks.clear()  # the drains' arrays, copied into the table: their memory serves the write
    whole = (
        tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    )
    requests = sum(len(c.dictionary) for c in whole["request_id"].chunks)
    # dictionary-encoding every column (Parquet's default) cost 5x the rest of the write on
    # feature columns of floats; only the request ids repeat, and only where requests have
    # several rows. The writer shares the server's cores: see COMPRESSION, none for columns
    # it would not shrink, and statistics only for the columns a reader filters on
    options = {
        "compression": {
            c: "none" if c in (plain or ()) else COMPRESSION for c in whole.column_names
        },
        "use_dictionary": ["request_id"] if whole.num_rows >= 2 * requests else False,
        "write_statistics": list(META),
        "write_batch_size": WRITE_BATCH,
    }
    # written into one buffer as large as the file can be: a growing stream copied what it
    # held each time it doubled (S1, 25,000 rows: 2.0 ms a segment against 1.3). An Arrow
    # sink, not ``io.BytesIO``: the writer would take the GIL back for every write into a
    # Python file, each time waiting for the event loop to let go of it (S1: 440 ms a
    # segment while the loop was busy, against 20 ms)
    bound = _file_bound(whole, plain_ids=not options["use_dictionary"])
    buffer = pa.allocate_buffer(bound) if room is None else room.take(bound)
    sink = pa.FixedSizeBufferWriter(buffer)
    try:
        write_parquet(whole, sink, options)
        data = buffer.slice(0, sink.tell())
    except OSError:  # larger than the bound after all: into a buffer that grows
        stream = pa.BufferOutputStream()
        write_parquet(whole, stream, options)
        data = stream.getvalue()
    lo, hi = _time_range(whole["time"])
    return memoryview(data), _utc(lo), _utc(hi)


PARQUET_VERSION = "2.6"  # ``pyarrow.parquet.write_table``'s default, named for the writer below


def write_parquet(table: Any, sink: Any, options: dict[str, Any]) -> None:
    """``pyarrow.parquet.write_table(table, sink, **options)``, the same bytes, through the
    writer that function wraps (``pyarrow._parquet``) where it takes these arguments. Why:
    ``pyarrow.parquet`` imports pyarrow's filesystems (S3, GCS, Azure, HDFS) for paths the log
    never writes to: 10 MB of the writer process's RSS and a tenth of a second of its
    start-up. A pyarrow whose private writer differs gets the public function (a test
    compares their bytes)."""
    writer_class = _native_parquet_writer()
    if writer_class is not None:
        try:
            writer = writer_class(
                sink, table.schema, version=PARQUET_VERSION, writer_engine_version="V2", **options
            )
        except (TypeError, ValueError):  # not the arguments it takes in this pyarrow
            _NATIVE[0] = None
        else:
            try:
                writer.write_table(table)
            finally:
                writer.close()
            return
    import pyarrow.parquet as pq

    pq.write_table(table, sink, version=PARQUET_VERSION, **options)


_NATIVE: list[Any] = []  # pyarrow's private Parquet writer once looked up, or None


def import_parquet_writer() -> None:
    """Import what ``write_parquet`` will use (ahead of the first segment)."""
    if _native_parquet_writer() is None:
        import pyarrow.parquet  # noqa: F401


def _native_parquet_writer() -> Any:
    if not _NATIVE:
        try:
            from pyarrow._parquet import ParquetWriter
        except ImportError:
            ParquetWriter = None
        _NATIVE.append(ParquetWriter)
    return _NATIVE[0]


def _file_bound(table: Any, *, plain_ids: bool) -> int:
    """Bytes a Parquet file of ``table`` as ``segment`` writes it stays under: its buffers
    (plain values, or a dictionary and its indices), LZ4's worst case (1/255 more), levels and
    page headers, and the footer (a few hundred bytes a column); with ``plain_ids``, the
    request ids written once per row rather than once per request."""
    import numpy as np
    import pyarrow as pa

    nbytes = int(table.nbytes)
    if plain_ids:
        longest = 0
        for chunk in table["request_id"].chunks:
            words = chunk.dictionary
            if len(words):
                width = 8 if pa.types.is_large_string(words.type) else 4
                offsets = np.frombuffer(
                    words.buffers()[1], f"int{8 * width}", len(words) + 1, words.offset * width
                )
                longest = max(longest, int(np.diff(offsets).max()))
        nbytes += table.num_rows * (4 + longest)
    return nbytes + nbytes // 64 + 1024 * table.num_columns + (64 << 10)


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


def _strings(data: bytes, ends: Any) -> Any:
    """UTF-8 strings one after another (``ends``: where each ends) as an Arrow string array,
    without ``pa.array`` (see ``_numbers``)."""
    import numpy as np
    import pyarrow as pa

    large = len(data) > INT32_OFFSETS  # 32-bit offsets would wrap: 64-bit ones
    offsets = np.zeros(len(ends) + 1, dtype="int64" if large else "int32")
    offsets[1:] = ends
    return pa.Array.from_buffers(
        pa.large_string() if large else pa.string(),
        len(ends),
        [None, pa.py_buffer(offsets), pa.py_buffer(data)],
    )
