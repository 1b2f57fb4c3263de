"""The prediction log: segments in the object store, registered in the metadata store, read back
across server restarts; a store that cannot be written drops (and counts) rows, never requests.
Models come from the metadata and object stores here (StoreSource)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.serving.conftest import run_server
from tests.serving.test_protocol import ROW, infer_body
from tether.serving import app, predictions
from tether.serving.runtime import Options
from tether.workspace import Workspace


def _serve(ws: Workspace, **kw: object):  # type: ignore[no-untyped-def]
    return run_server(
        app(["lr@champion"], workspace=ws, options=Options(poll_s=0),
            log_kwargs={"flush_s": 0.05}, **kw),  # type: ignore[arg-type]
        ws.root,
    )  # fmt: skip


def test_predictions_are_read_back_across_restarts(ws: Workspace) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    with _serve(ws) as server:
        for i in range(3):
            status, _ = server.json(
                "POST",
                "/v2/models/lr/infer",
                infer_body([ROW, ROW]),
                headers={"X-Request-ID": f"a{i}"},
            )
            assert status == 200
    ws.store.set_alias("serve", "lr", "champion", 2, actor="test")
    with _serve(ws) as server:  # a new server: alias now at 2
        assert (
            server.json("POST", "/invocations", {"inputs": [ROW]}, headers={"X-Request-ID": "b"})[0]
            == 200
        )
    frame = predictions("lr", workspace=ws)
    assert frame["request_id"].tolist() == ["a0", "a0", "a1", "a1", "a2", "a2", "b"]
    assert frame["version"].tolist() == [1] * 6 + [2]
    assert frame["row"].tolist() == [0, 1] * 3 + [0]
    assert frame[[f"input_{j}" for j in range(4)]].iloc[0].tolist() == ROW
    assert set(frame["prediction"]) <= {0, 1}
    assert (frame["latency_ms"] > 0).all()
    assert (frame["time"] >= before).all()
    later = frame["time"].iloc[-1]
    assert predictions("lr", workspace=ws, start=later)["request_id"].tolist() == ["b"]
    assert predictions("lr", workspace=ws, end=before).empty
    segments = ws.store.list_prediction_segments("serve", "lr")
    assert sum(s.rows for s in segments) == 7
    assert {s.version for s in segments} == {1, 2}


def test_a_server_shut_down_writes_the_requests_still_waiting_for_the_ring(
    ws: Workspace,
) -> None:
    """Requests wait to go into the ring together; a server that stops (SIGTERM, as uvicorn's
    ``should_exit``) puts them in on its event loop before the log closes: none is lost."""
    application = app(
        ["lr@champion"], workspace=ws, options=Options(poll_s=0),
        log_kwargs={"flush_s": 60, "put_wait_s": 3600, "put_every": 10_000},
    )  # fmt: skip
    with run_server(application, ws.root) as server:
        for i in range(5):
            status, _ = server.json(
                "POST", "/v2/models/lr/infer", infer_body([ROW] * (i + 1)),
                headers={"X-Request-ID": f"w{i}"},
            )  # fmt: skip
            assert status == 200
        log = application.state.server.predlog
        if log._ring is not None:  # (no memfd: the records went to the deque, not waiting)
            # nothing put yet (an hour to wait): each request alone in its batch
            assert len(log._pending) + sum(len(b[2]) for b in log._batches) == 5
    frame = predictions("lr", workspace=ws)
    assert frame["request_id"].tolist() == [f"w{i}" for i in range(5) for _ in range(i + 1)]
    assert frame["row"].tolist() == [r for i in range(5) for r in range(i + 1)]


def test_unwritable_object_store_drops_rows_not_requests(ws: Workspace, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    # the models were fetched already; the log's object store is unusable
    broken = Workspace(ws.root, objects_url=str(blocker / "objects"))
    from tether.serving.store_source import StoreSource

    application = app(
        ["lr@champion"], source=StoreSource(ws), workspace=broken, options=Options(poll_s=0),
        log_kwargs={"flush_s": 0.05},
    )  # fmt: skip
    with run_server(application, ws.root) as server:
        for _ in range(4):
            assert server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))[0] == 200
    log = application.state.server.predlog
    assert log.dropped == 4
    assert log.written == 0
    assert ws.store.list_prediction_segments("serve", "lr") == []
    broken.close()


def test_a_full_buffer_drops_and_counts_rows(ws: Workspace) -> None:
    from tether.serving.predlog import PredictionLog

    log = PredictionLog(ws.store, ws.objects, "serve", queue_size=1, flush_s=60, drain_s=60)
    log.record("lr", 1, "kept", 1.0, 0.001, [[1.0, 2.0, 3.0, 4.0]], [0], rows=1)
    log.record("lr", 1, "dropped", 2.0, 0.001, [[1.0, 2.0, 3.0, 4.0], ROW], [0, 1], rows=2)
    assert log.dropped == 2
    log.close()  # writes what it kept
    assert log.written == 1
    frame = predictions("lr", workspace=ws)
    assert frame["request_id"].tolist() == ["kept"]


def test_rows_waiting_to_be_written_are_bounded_when_the_writer_falls_behind(
    ws: Workspace,
) -> None:
    """Records leave the request queue every drain; the bound holds on every row not yet
    written, so a writer slower than the traffic drops (and counts) rows, never grows."""
    import threading

    from tether.serving.predlog import PredictionLog

    class SlowObjects:  # the workspace's object store, behind a gate the test opens
        def __init__(self) -> None:
            self.gate = threading.Event()

        def put_bytes(self, data: bytes):  # type: ignore[no-untyped-def]
            self.gate.wait(30)
            return ws.objects.put_bytes(data)

    slow = SlowObjects()
    log = PredictionLog(
        ws.store, slow, "serve", max_rows=30, segment_rows=10, flush_s=60, drain_s=0.01
    )  # type: ignore[arg-type]
    for i in range(100):
        log.record("lr", 1, f"r{i}", float(i), 0.001, [ROW, ROW], [0, 1], rows=2)
        assert log.unwritten <= 30
    assert log.dropped == 200 - 30
    slow.gate.set()
    log.close()
    assert log.written == 30 and log.unwritten == 0
    assert len(predictions("lr", workspace=ws)) == 30


def test_a_server_starts_and_logs_without_opening_the_store(ws: Workspace) -> None:
    """Start-up resolves the alias with one SQLite query, and the log's segments are recorded
    with ``sqlite3`` (``tether.store.sqlite_write``): the metadata store (SQLAlchemy, the
    schema check, 1-3 s of CPU against the event loop) is not opened for either."""
    import time

    fresh = Workspace(ws.root)  # another process's view: nothing opened yet
    with _serve(fresh) as server:
        assert server.request("GET", "/v2/health/ready")[0] == 200
        assert server.json("GET", "/v2/models/lr")[1]["versions"] == ["1"]
        assert not fresh.store_opened
        status, _ = server.json(
            "POST", "/v2/models/lr/infer", infer_body([ROW]), headers={"X-Request-ID": "s"}
        )
        assert status == 200
        deadline = time.monotonic() + 30
        while not ws.store.list_prediction_segments("serve", "lr"):
            assert time.monotonic() < deadline, "the prediction was never logged"
            time.sleep(0.05)
        assert not fresh.store_opened
    assert predictions("lr", workspace=ws)["request_id"].tolist() == ["s"]
    fresh.close()


def test_log_segments_keep_every_column_type_without_importing_pandas(tmp_path: Path) -> None:
    """The writer builds its Arrow arrays from buffers: ``pa.array`` would import pandas into
    a server that never needs it (35 MB of RSS)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import io, sys, time
        import numpy as np
        from tether.serving.segments import read_segment, segment, table

        inputs = {"x": np.array([1.5, np.nan]), "flag": np.array([True, False]),
                  "n": np.array([3, 4], dtype="int16")}
        records = [
            ("m", 2, "req-é1", time.time(), 0.001, inputs, np.array([0, 1]), 2),
            ("m", 2, "r2", time.time(), 0.002, inputs, np.array([1, 1]), 2),
        ]
        data, start, end = segment([table(records)])
        assert "pandas" not in sys.modules, "the log imported pandas"
        t = read_segment(data).to_pydict()
        assert t["request_id"] == ["req-é1", "req-é1", "r2", "r2"], t["request_id"]
        assert t["input_flag"] == [True, False, True, False], t["input_flag"]
        assert t["input_n"] == [3, 4, 3, 4] and t["row"] == [0, 1, 0, 1]
        assert t["input_x"][0] == 1.5 and t["input_x"][1] != t["input_x"][1]  # NaN kept
        assert t["prediction"] == [0, 1, 1, 1] and t["version"] == [2] * 4
        assert start <= end
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "case", ["single rows", "rows per request under two", "wide", "strings and nulls"]
)
def test_a_segment_fits_the_buffer_made_for_it_and_one_that_does_not_is_written_all_the_same(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``segment`` writes into one buffer sized by ``_file_bound``: every kind of table stays
    under it (request ids written per row included), and a file that would not fit is written
    into a growing buffer instead, byte for byte the same."""
    import numpy as np

    from tether.serving import segments
    from tether.serving.segments import read_segment, segment, table

    rng = np.random.default_rng(0)
    if case == "single rows":
        records = [("m", 1, f"{i:036d}", 1.0 + i, 0.001, rng.random((1, 20)), np.zeros(1), 1)
                   for i in range(20_000)]  # fmt: skip
    elif case == "rows per request under two":  # ids written once per row, not per request
        records = [("m", 1, rng.bytes(128).hex(), 1.0 + i, 0.001, rng.random((1 + i % 2, 3)),
                    np.zeros(1 + i % 2), 1 + i % 2) for i in range(5_000)]  # fmt: skip
    elif case == "wide":
        records = [("m", 1, f"r{i}", 1.0 + i, 0.001, rng.random((3, 2_000)), np.zeros(3), 3)
                   for i in range(5)]  # fmt: skip
    else:
        words = np.array(["a", None, "ü" * 50], dtype=object)
        records = [("m", 1, f"r{i}", 1.0 + i, 0.001, {"w": words, "x": np.array([1.0, np.nan, 2])},
                    np.array(["yes", "no", None], dtype=object), 3) for i in range(50)]  # fmt: skip
    whole = table(records)
    plain_ids = whole.num_rows < 2 * len(records)
    bound = segments._file_bound(whole, plain_ids=plain_ids)
    fitted, _, _ = segment([table(records)])
    assert len(fitted) <= bound
    monkeypatch.setattr(segments, "_file_bound", lambda *a, **k: 64)  # too small: it grows
    grown, _, _ = segment([table(records)])
    assert bytes(grown) == bytes(fitted)
    assert read_segment(grown).num_rows == sum(r[7] for r in records)


def test_segments_written_into_a_kept_buffer_read_back_each_as_written() -> None:
    """The writer process writes each segment's file into the buffer of the one before
    (``FileRoom``): each file reads back as its own rows, and a buffer larger than the room
    keeps is not kept."""
    import numpy as np

    from tether.serving.segments import FileRoom, read_segment, segment, table

    room = FileRoom(keep=1 << 20)
    files, buffers = [], []
    for n in (300, 200, 300):  # the second fits the first's buffer
        records = [("m", 1, f"r{n}-{i}", 1.0, 0.001, np.full((1, 4), float(n)), np.zeros(1), 1)
                   for i in range(n)]  # fmt: skip
        data, _, _ = segment([table(records)], room)
        files.append(bytes(data))  # (a view of the room's buffer: copied before the next)
        assert room._buffer is not None and room._buffer.size >= len(data)
        buffers.append(room._buffer)
    assert buffers[1] is buffers[0]
    for n, data in zip((300, 200, 300), files, strict=True):
        back = read_segment(data).to_pydict()
        assert back["input_0"] == [float(n)] * n and back["request_id"][0] == f"r{n}-0"
    wide = [("m", 1, "w", 1.0, 0.001, np.ones((200, 1_000)), np.zeros(200), 200)]
    segment([table(wide)], room)  # over a MiB: written, not kept
    assert room._buffer is None


def test_a_corrupt_segment_is_named_not_a_raw_arrow_error(ws: Workspace) -> None:
    import pytest

    from tether.serving.errors import ServingError

    now = datetime.now(UTC)
    info = ws.objects.put_bytes(b"PAR1 these bytes are not Parquet PAR1")
    ws.store.add_prediction_segment(
        ws.project, "lr", version=1, start_time=now, end_time=now, rows=1, digest=info.digest
    )
    with pytest.raises(ServingError, match=f"segment {info.digest} of 'lr' cannot be read"):
        predictions("lr", workspace=ws)


def test_rows_waiting_are_bounded_in_bytes_so_wide_rows_cannot_grow_the_server(
    ws: Workspace,
) -> None:
    """A bound of rows alone would let 1,000-feature rows hold 50 times the memory of
    20-feature ones: the rows waiting are also bounded by their size."""
    import threading

    import numpy as np

    from tether.serving.predlog import PredictionLog

    gate = threading.Event()

    class SlowObjects:
        def put_bytes(self, data: bytes):  # type: ignore[no-untyped-def]
            gate.wait(30)
            return ws.objects.put_bytes(data)

    wide = np.ones((2, 1000))  # 8,000 bytes a row
    log = PredictionLog(
        ws.store, SlowObjects(), "serve", max_bytes=200_000, segment_rows=10,
        flush_s=60, drain_s=0.01,
    )  # type: ignore[arg-type]  # fmt: skip
    for i in range(100):
        log.record("wide", 1, f"r{i}", float(i), 0.001, wide, np.array([0, 1]), rows=2)
        assert log.unwritten * 8_000 <= 200_000
    kept = log.unwritten
    assert kept >= 20 and log.dropped == 200 - kept
    gate.set()
    log.close()
    assert log.written == kept and log.unwritten == 0
    frame = predictions("wide", workspace=ws)
    assert len(frame) == kept and frame["input_999"].tolist() == [1.0] * kept


def test_a_drains_arrays_are_joined_in_order_whatever_their_layout() -> None:
    """The drain joins requests' arrays as bytes: views, Fortran order, float32 and 1-D outputs
    come out as they went in; arrays of several dtypes are promoted to a common one first, and
    arrays of several widths, or of objects, take NumPy's own concatenation."""
    import numpy as np

    from tether.serving.segments import _concat_rows, _join
    from tether.serving.tensors import concat

    for rows in (6, 600):  # arrays of up to 500 values take np.concatenate, larger ones bytes
        base = np.arange(rows * 10, dtype="float64").reshape(rows, 10)
        k = rows // 3
        parts = [base[:k], np.asfortranarray(base[k : 2 * k]), base[2 * k :, :].copy()]
        got = _concat_rows(parts, concat).columns_first
        assert got.flags.c_contiguous and np.array_equal(got, base.T)
    for dtype in ("datetime64[s]", "<U3", "bool"):  # no buffer format of their own
        big = np.arange(1200).astype(dtype).reshape(600, 2)
        assert np.array_equal(_join([big, big[:5]]), np.concatenate([big, big[:5]]))
    base = np.arange(60, dtype="float64").reshape(6, 10)
    strided = base[::2, ::2]  # neither C- nor F-contiguous
    assert np.array_equal(_join([strided, strided]), np.concatenate([strided, strided]))
    outs = [np.array([1, 2]), np.array([3])]
    assert _concat_rows(outs, concat).tolist() == [1, 2, 3]
    small = np.ones((1, 10), dtype="float32")
    assert _concat_rows([small, small], concat).columns_first.dtype == np.float32
    assert _join([base, small]) is None  # dtypes differ
    assert _join([base, np.ones((1, 3))]) is None  # widths differ
    assert _join([np.array(["a"], dtype=object)] * 2) is None
    mixed = _concat_rows([base[:1], np.ones((1, 10), dtype="float32")], concat).columns_first
    assert mixed.dtype == np.float64 and mixed.shape == (10, 2)  # promoted, then joined


def _records(version: int, rows: int, n: int, dtype: str, tag: str, seed: int) -> list:  # type: ignore[type-arg]
    import numpy as np

    rng = np.random.default_rng(seed)
    return [
        ("m", version, f"{tag}{i}", 1_700_000_000.0 + seed + i / 1e3, 0.001 * (i + 1),
         rng.standard_normal((rows, 3)).astype(dtype), rng.integers(0, 3, rows), rows)
        for i in range(n)
    ]  # fmt: skip


def test_drains_gathered_as_arrays_are_written_row_for_row(tmp_path: Path) -> None:
    """A segment made of several drains (``gather``), of two dtypes and with an Arrow table
    between them (``table``), holds every request's rows in order with their fields."""
    from tether.serving.segments import Gathered, gather, read_segment, segment, table

    drains = [
        _records(3, 2, 4, "float64", "a", 1),
        _records(3, 2, 3, "float64", "b", 2),
        _records(3, 1, 2, "float64", "t", 3),  # this one goes in as an Arrow table
        _records(3, 5, 2, "float32", "c", 4),  # does not join the float64 rows
    ]
    chunks = [gather(d) for d in drains]
    chunks[2] = table(drains[2])
    assert [type(c) is Gathered for c in chunks] == [True, True, False, True]
    data, start, end = segment(chunks)
    got = read_segment(data).to_pydict()
    expect: dict[str, list] = {k: [] for k in ("request_id", "row", "latency_ms", "prediction")}  # type: ignore[type-arg]
    inputs: list[list[float]] = []
    for d in drains:
        for _m, _v, rid, _t, latency, x, y, rows in d:
            expect["request_id"] += [rid] * rows
            expect["row"] += list(range(rows))
            expect["latency_ms"] += [latency * 1e3] * rows
            expect["prediction"] += y.tolist()
            inputs += x.astype("float64").tolist()
    for key, values in expect.items():
        assert got[key] == values, key
    for j in range(3):
        assert got[f"input_{j}"] == [r[j] for r in inputs]
    assert got["version"] == [3] * len(inputs)
    assert start.timestamp() == 1_700_000_001.0 and end.timestamp() == 1_700_000_004.001


def test_records_whose_rows_do_not_add_up_are_dropped_and_the_log_goes_on(ws: Workspace) -> None:
    import numpy as np

    from tether.serving.predlog import PredictionLog
    from tether.serving.segments import gather

    bad = ("m", 1, "bad", 1.0, 0.001, np.ones((2, 3)), np.array([0, 1]), 5)  # says 5 rows
    assert gather([bad]) is None
    log = PredictionLog(ws.store, ws.objects, "serve", flush_s=60, drain_s=0.01)
    log.record(*bad)
    deadline = time.monotonic() + 30
    while log.dropped < 5:
        assert time.monotonic() < deadline, "the bad drain was never dropped"
        time.sleep(0.01)
    for rec in _records(1, 2, 3, "float64", "ok", 0):
        log.record(*rec)
    log.close()
    assert (log.dropped, log.written) == (5, 6)
    assert (
        predictions("m", workspace=ws)["request_id"].tolist()
        == ["ok0"] * 2 + ["ok1"] * 2 + ["ok2"] * 2
    )


def test_columns_compress_where_it_pays_and_ids_are_a_dictionary_where_they_repeat() -> None:
    """Random floats are stored plain (LZ4 cost as much as the rest of the write and saved
    nothing), whole-number and one-hot floats and the fields compressed; request ids are
    dictionary-encoded where requests have several rows, and read back the same either way."""
    import io

    import numpy as np
    import pyarrow.parquet as pq

    from tether.serving.segments import gather, read_segment, segment

    rng = np.random.default_rng(0)

    def written(rows: int) -> tuple[dict[str, tuple[str, tuple[str, ...]]], object]:
        x = np.column_stack([rng.standard_normal(600), rng.integers(0, 2, 600), np.arange(600.0)])
        records = [
            ("m", 1, f"r{i}", 1.0 + i, 0.001, x[i * rows : (i + 1) * rows], np.zeros(rows), rows)
            for i in range(600 // rows)
        ]
        data, _, _ = segment([gather(records)])
        meta = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
        cols = {}
        for j in range(meta.num_columns):
            c = meta.column(j)
            cols[c.path_in_schema] = (c.compression, c.encodings)
        return cols, read_segment(data)

    for rows in (1, 100):
        cols, back = written(rows)
        assert cols["input_0"][0] == "UNCOMPRESSED"
        assert cols["input_1"][0] != "UNCOMPRESSED" and cols["input_2"][0] != "UNCOMPRESSED"
        assert all(cols[c][0] != "UNCOMPRESSED" for c in ("time", "latency_ms", "row", "version"))
        assert ("RLE_DICTIONARY" in cols["request_id"][1]) == (rows > 1)
        assert str(back.schema.field("request_id").type).startswith("dictionary")
        assert back["request_id"].to_pylist() == [f"r{i // rows}" for i in range(600)]


def test_segments_are_written_as_pyarrow_parquet_writes_them_through_either_writer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``write_parquet`` goes through pyarrow's private Parquet writer (``pyarrow.parquet``
    imports every filesystem pyarrow has): the bytes are ``pq.write_table``'s, and a private
    writer that refuses the arguments leaves the public function to write them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tether.serving import segments
    from tether.serving.segments import table, write_parquet

    rng = np.random.default_rng(1)
    records = [("m", 3, f"r{i}", 1.0 + i, 0.001, rng.random((4, 5)), np.arange(4), 4)
               for i in range(300)]  # fmt: skip
    whole = table(records)
    options = {"compression": "lz4", "use_dictionary": ["request_id"],
               "write_statistics": list(segments.META)}  # fmt: skip
    expected = pa.BufferOutputStream()
    pq.write_table(whole, expected, **options)

    def written() -> bytes:
        sink = pa.BufferOutputStream()
        write_parquet(whole, sink, dict(options))
        return sink.getvalue().to_pybytes()

    assert segments._native_parquet_writer() is not None  # this pyarrow's: the path tested
    assert written() == expected.getvalue().to_pybytes()

    class Refuses:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise TypeError("unexpected keyword argument")

    monkeypatch.setattr(segments, "_NATIVE", [Refuses])
    assert written() == expected.getvalue().to_pybytes()
    assert segments._NATIVE == [None]  # not asked again


def test_the_writer_process_writes_parquet_without_pyarrows_filesystems(ws: Workspace) -> None:
    """The writer process has written a segment, and has not loaded pyarrow's filesystems
    (S3, GCS, Azure, HDFS): 10 MB of its RSS."""
    import numpy as np

    from tether.serving.asgi import _writer_process
    from tether.serving.predlog import PredictionLog

    log = PredictionLog(
        ws.store, ws.objects, "serve", flush_s=0.05, drain_s=0.01, process=_writer_process(ws)
    )
    try:
        assert log.wait_ready(60)
        process = log._process
        assert process is not None and process.alive
        log.record("fs", 1, "a", time.time(), 0.001, np.ones((2, 3)), np.zeros(2), 2)
        deadline = time.monotonic() + 30
        while log.written < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert log.written == 2
        maps = Path(f"/proc/{process._proc.pid}/maps").read_text()
        assert "libparquet" in maps  # it did write Parquet
        assert "_s3fs" not in maps and "libarrow_s3" not in maps and "_fs.cpython" not in maps
    finally:
        log.close()


def test_a_servers_log_is_written_by_a_process_of_its_own(ws: Workspace) -> None:
    """A fresh process logging as the server does: its segments are written by the writer
    process (the server never imports pyarrow for single-tensor models) and read back."""
    import subprocess
    import sys

    code = f"""
import sys, time
import numpy as np
from tether.workspace import Workspace
from tether.serving.asgi import _writer_process
from tether.serving.predlog import PredictionLog
from tether.serving.store_source import store_on_use
ws = Workspace({str(ws.root)!r})
log = PredictionLog(store_on_use(ws), ws.objects, ws.project, flush_s=0.2, drain_s=0.02,
                    process=_writer_process(ws))
for i in range(10):
    x = np.full((2, 3), i, float)
    log.record("proc", 1, f"r-é{{i}}", time.time(), 0.001, x, np.zeros(2), 2)
    time.sleep(0.01)
log.close()
print(log.written, log.dropped, "pyarrow" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["20", "0", "False"], out.stderr
    frame = predictions("proc", workspace=ws)
    assert frame["request_id"].tolist() == [f"r-é{i // 2}" for i in range(20)]
    assert frame["input_2"].tolist() == [float(i // 2) for i in range(20)]


def test_the_log_is_ready_once_its_writer_has_done_its_first_segments_work_ahead(
    ws: Workspace,
) -> None:
    """The writer process makes a segment, hashes it and opens the store's database before it
    says it is ready, and the log (the server, before it says ready) waits for that: its first
    segment under load no longer takes ten times the next ones while the ring fills. The
    warm-up stores nothing."""
    import os

    import numpy as np

    from tether.serving.asgi import _writer_process
    from tether.serving.predlog import PredictionLog

    objects = ws.root / ".tether" / "objects"
    before = sorted(p for p in objects.rglob("*") if p.is_file())
    log = PredictionLog(
        ws.store, ws.objects, "serve", flush_s=60, drain_s=0.01, process=_writer_process(ws)
    )
    try:
        assert log.wait_ready(60)
        process = log._process
        assert process is not None and process.ready and process.alive
        database = (ws.root / ".tether" / "tether.db").resolve()
        held = {os.path.realpath(f"/proc/{process._proc.pid}/fd/{fd}")
                for fd in os.listdir(f"/proc/{process._proc.pid}/fd")}  # fmt: skip
        assert str(database) in held  # the connection the first segment will use
        assert sorted(p for p in objects.rglob("*") if p.is_file()) == before
        assert ws.store.list_prediction_segments("serve", "warm") == []
        log.record("warm", 1, "a", time.time(), 0.001, np.ones((2, 3)), np.zeros(2), 2)
    finally:
        log.close()
    assert (log.written, log.dropped) == (2, 0)


def test_a_writer_warm_up_that_fails_is_logged_and_a_remote_store_is_not_asked(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The warm-up is best effort: a store that cannot be opened now must not keep the writer
    from starting (its segments drop and count rows as before), and a remote object store is
    not asked anything while the server starts (an unreachable one would hold up ready)."""
    import logging
    import os

    from tether.config import init_workspace
    from tether.serving.logwriter import _warm_up
    from tether.serving.store_source import StoreOnUse

    class Locked:  # a store that cannot be opened at this moment (no real one fails here)
        def prepare_segments(self) -> None:
            raise OSError("database is locked")

    remote = tmp_path / "remote"
    init_workspace(remote, project="p")
    # S3 on a loopback port nothing listens on: any request would fail after its retries
    unreachable = Workspace(
        remote, objects_url="s3://bucket/log", objects_endpoint_url="http://127.0.0.1:9"
    )
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "tether.serving"):
        _warm_up(Locked(), unreachable.objects)
    assert "warm-up failed (OSError: database is locked)" in caplog.text, caplog.text
    assert time.monotonic() - started < 5  # the object store was not asked
    caplog.clear()

    fine = tmp_path / "fine"
    init_workspace(fine, project="p")
    made = Workspace(fine)
    made.store.get_or_create_project("p")  # the database the server's log writes into
    made.close()
    ws = Workspace(fine)  # the writer process's: its store not opened
    with caplog.at_level(logging.WARNING, "tether.serving"):
        _warm_up(StoreOnUse(ws), ws.objects)
    assert not caplog.text
    database = str((fine / ".tether" / "tether.db").resolve())
    held = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    assert database in held  # the connection the first segment will use, open


def test_waiting_for_a_writer_that_never_says_ready_ends_at_the_timeout_or_its_exit() -> None:
    import subprocess
    import sys

    from tether.serving.logring import Ring
    from tether.serving.logwriter import WriterProcess

    ring = Ring.create(1 << 16)
    assert ring is not None
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    writer = WriterProcess(silent, ring)
    try:
        t0 = time.monotonic()
        assert writer.wait_ready(0.3) == []
        assert 0.3 <= time.monotonic() - t0 < 10
        assert not writer.ready and writer.alive
        silent.kill()
        t0 = time.monotonic()
        writer.wait_ready(60)  # it ended: no waiting out the timeout
        assert time.monotonic() - t0 < 10
        assert writer.ended and not writer.ready
    finally:
        writer.close(5)
        ring.close()


def test_rows_a_lost_writer_process_held_are_dropped_and_the_log_goes_on(ws: Workspace) -> None:
    import numpy as np

    from tether.serving.asgi import _writer_process
    from tether.serving.predlog import PredictionLog

    log = PredictionLog(
        ws.store, ws.objects, "serve", flush_s=60, drain_s=0.01, process=_writer_process(ws)
    )
    deadline = time.monotonic() + 60
    while log._process is None:  # started by the log's thread
        assert time.monotonic() < deadline, "no writer process"
        time.sleep(0.01)
    for i in range(3):
        log.record("lost", 1, f"a{i}", time.time(), 0.001, np.ones((2, 3)), np.zeros(2), 2)
    while log._process._sent < 6:  # handed over; held until its segment is due (60 s)
        assert time.monotonic() < deadline, "the rows never reached the writer process"
        time.sleep(0.01)
    log._process._proc.kill()
    log._process._proc.wait()
    while log.dropped < 6:
        assert time.monotonic() < deadline, "the lost rows were never counted"
        time.sleep(0.01)
    for i in range(2):
        log.record("lost", 1, f"b{i}", time.time(), 0.001, np.ones((1, 3)), np.zeros(1), 1)
    log.close()
    assert (log.dropped, log.written, log.unwritten) == (6, 2, 0)
    assert predictions("lost", workspace=ws)["request_id"].tolist() == ["b0", "b1"]


def test_rows_the_writer_process_holds_are_written_when_the_server_is_killed(
    ws: Workspace,
) -> None:
    """SIGKILL leaves the server no time to close its log: the writer process sees its input
    end and writes what it was handed."""
    import subprocess
    import sys

    code = f"""
import os, signal, time
import numpy as np
from tether.workspace import Workspace
from tether.serving.asgi import _writer_process
from tether.serving.predlog import PredictionLog
from tether.serving.store_source import store_on_use
ws = Workspace({str(ws.root)!r})
log = PredictionLog(store_on_use(ws), ws.objects, ws.project, flush_s=600, drain_s=0.01,
                    process=_writer_process(ws))
for i in range(4):
    log.record("killed", 1, f"k{{i}}", time.time(), 0.001, np.ones((1, 3)), np.zeros(1), 1)
deadline = time.monotonic() + 60
while log._process is None or log._process._sent < 4:
    assert time.monotonic() < deadline
    time.sleep(0.01)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr
    deadline = time.monotonic() + 60
    while not ws.store.list_prediction_segments("serve", "killed"):
        assert time.monotonic() < deadline, "the rows handed over were never written"
        time.sleep(0.05)
    assert predictions("killed", workspace=ws)["request_id"].tolist() == ["k0", "k1", "k2", "k3"]


def test_values_arrow_cannot_type_are_logged_as_text_not_dropped() -> None:
    """An output column of mixed Python objects (a model returning numbers and strings):
    Arrow cannot give it one type, so it is stored as text, None kept as null."""
    import numpy as np

    from tether.serving.segments import read_segment, segment, table

    outputs = np.array([1, "two", None, 3.5], dtype=object)
    records = [("m", 1, "r", 1.0, 0.001, np.ones((4, 2)), outputs, 4)]
    data, _, _ = segment([table(records)])
    assert read_segment(data)["prediction"].to_pylist() == ["1", "two", None, "3.5"]


def test_a_full_ring_drops_and_counts_rows_and_writes_the_rest_exactly(ws: Workspace) -> None:
    """Records reach the writer process through a ring shared with it: when the ring is full
    (the process not told yet, or behind), rows are dropped and counted, the request goes on,
    and every row taken is written as it was recorded."""
    from collections import deque

    import numpy as np

    from tether.serving.asgi import _writer_process
    from tether.serving.logring import Ring
    from tether.serving.predlog import PredictionLog

    if Ring.create() is None:
        return  # no memfd on this system: the log's thread writes (the tests above)
    log = PredictionLog(
        ws.store, ws.objects, "serve", flush_s=60, drain_s=60, exchange_s=60,
        ring_bytes=1 << 16, process=_writer_process(ws),
    )  # fmt: skip
    rng = np.random.default_rng(1)
    recorded = {}
    for i in range(60):  # 8 KB each into 64 KB
        x = rng.random((50, 20))
        recorded[f"r{i}"] = x
        log.record("ring", 1, f"r{i}", time.time(), 0.001, x, np.zeros(50, "int64"), 50)
    assert log._buffer == deque()  # every record went to the ring
    log.close()
    assert log.dropped > 0 and log.written > 0
    assert log.written + log.dropped == 3000 and log.unwritten == 0
    frame = predictions("ring", workspace=ws)
    assert len(frame) == log.written
    for rid, rows in frame.groupby("request_id", sort=False):
        got = rows.sort_values("row")[[f"input_{j}" for j in range(20)]].to_numpy()
        assert np.array_equal(got, recorded[str(rid)])


def test_requests_are_copied_into_the_ring_together_and_none_is_lost_at_close(
    ws: Workspace,
) -> None:
    """In a server, requests' records wait to go into the ring together (one ring record for
    many: a fraction of the cost of one each): ``put_wait_s`` after the first, at once when
    ``put_every`` wait, and at ``close`` whatever still waits. All are written, each as it was
    recorded."""
    import asyncio

    import numpy as np

    from tether.serving.asgi import _writer_process
    from tether.serving.logring import HEADER, Ring
    from tether.serving.predlog import PredictionLog

    if Ring.create() is None:
        return  # no memfd on this system: the log's thread writes (the tests above)
    log = PredictionLog(
        ws.store, ws.objects, "serve", flush_s=60, drain_s=0.02, put_every=8, put_wait_s=0.05,
        process=_writer_process(ws),
    )  # fmt: skip
    ring = log._ring
    xs = [np.full((1, 3), float(i)) for i in range(28)]

    def record(i: int) -> None:
        log.record("turn", 1, f"t{i}", time.time(), 0.001, xs[i], np.array([i % 2]), 1)

    async def serve() -> list[int]:
        used = []
        for i in range(5):
            record(i)
        await asyncio.sleep(0.01)
        used.append(ring.state[0])  # they wait for put_wait_s
        await asyncio.sleep(0.1)
        used.append(ring.state[0])  # in, as one ring record
        for i in range(5, 13):  # put_every: in at the end of this turn
            record(i)
        await asyncio.sleep(0)
        used.append(ring.state[0])
        for i in range(13, 25):  # the eighth calls for a put: it takes all twelve
            record(i)
        await asyncio.sleep(0)
        used.append(ring.state[0])
        for i in range(25, 28):  # still waiting when the loop ends
            record(i)
        return used

    waited, first, second, third = asyncio.run(serve())
    assert waited == 0
    # one header for five, not five: 32 + 5 x 32 + ids + 5 x 24 + 5 x 8, padded
    assert 0 < first < 2 * HEADER.size + 5 * (32 + 8 + 24 + 8)
    assert second > first and third > second
    assert log.unwritten == 25 and len(log._pending) == 3
    log.close()  # the three that waited go in first
    assert (log.written, log.dropped) == (28, 0)
    frame = predictions("turn", workspace=ws)
    assert frame["request_id"].tolist() == [f"t{i}" for i in range(28)]
    assert frame["input_1"].tolist() == [float(i) for i in range(28)]
    assert frame["prediction"].tolist() == [i % 2 for i in range(28)]


def test_model_names_with_quotes_braces_and_newlines_through_the_writer_process(
    ws: Workspace,
) -> None:
    """The writer process is told of record formats in JSON lines: a name with quotes and
    braces arrives intact; one the store refuses (a newline) is dropped and counted, and the
    other models' rows are written all the same."""
    import numpy as np

    from tether.serving.asgi import _writer_process
    from tether.serving.logring import Ring
    from tether.serving.predlog import PredictionLog

    if Ring.create() is None:
        return
    odd, refused = 'we"ird {name} é', "line\nbreak"
    log = PredictionLog(
        ws.store, ws.objects, "serve", flush_s=60, drain_s=0.01, process=_writer_process(ws)
    )
    for i, name in enumerate((odd, refused, "plain")):
        log.record(name, 1, f"r{i}", time.time(), 0.001, np.ones((1, 2)), np.zeros(1), 1)
    log.close()
    assert (log.written, log.dropped, log.unwritten) == (2, 1, 0)
    assert predictions(odd, workspace=ws)["request_id"].tolist() == ["r0"]
    assert predictions("plain", workspace=ws)["request_id"].tolist() == ["r2"]


def test_ids_past_32_bit_offsets_are_written_with_64_bit_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An Arrow string array holds at most 2 GiB behind 32-bit offsets, which would wrap
    silently: past that the ids go into a large string array. The bound is lowered here so
    that a few ids cross it; they come back as sent, with single rows (ids written per row)
    and with several rows per request (a dictionary), from one drain and from two."""
    import numpy as np
    import pyarrow as pa

    from tether.serving import segments
    from tether.serving.segments import gather, read_segment, segment

    monkeypatch.setattr(segments, "INT32_OFFSETS", 40)
    for rows in (1, 3):
        records = [("m", 1, f"request-{i:04d}-é", 1.0 + i, 0.001, np.full((rows, 2), float(i)),
                    np.zeros(rows), rows) for i in range(8)]  # fmt: skip
        for drains in ([records], [records[:3], records[3:]]):
            chunks = [gather(d) for d in drains]
            made, _ = segments._arrow_table(list(chunks))
            ids = made.schema.field("request_id").type.value_type
            assert ids == pa.large_string(), ids  # 64-bit offsets past the bound
            data, _, _ = segment(chunks)
            back = read_segment(data)
            assert back.column("request_id").to_pylist() == [
                r[2] for r in records for _ in range(rows)
            ]
            assert back.column("input_0").to_pylist() == [
                float(i) for i in range(8) for _ in range(rows)
            ]


@pytest.mark.parametrize(
    ("plain", "model_thread"),
    [(False, None), (True, None), (False, True)],
    ids=["tether-protocol", "plain-uvicorn", "model-thread"],
)
def test_requests_batched_together_are_logged_each_as_it_was_sent_and_answered(
    ws: Workspace, plain: bool, model_thread: bool | None
) -> None:
    """Concurrent requests of one to three rows run as shared batches (the batch waits 100 ms
    for more), in the event loop or in the model's thread. On ``tether serve``'s protocol the
    log takes each batch whole, its inputs and outputs as the model had them; through ASGI
    each request is recorded as it is answered. Either way every request's rows come back
    under its id (quotes, a backslash and braces in some, 128 characters long), as it sent
    them, with the predictions it was answered."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    rng = np.random.default_rng(5)
    # ids as clients send them, some hostile: quotes, a backslash, braces, the longest kept
    ids = [f"c{i}" if i % 4 else f'c{i} "q" \\ {{x}} ' + "z" * 128 for i in range(48)]
    sent = {rid[:128]: rng.random((1 + i % 3, 4)).round(6).tolist() for i, rid in enumerate(ids)}
    application = app(
        ["lr@champion"], workspace=ws,
        options=Options(poll_s=0, max_wait_ms=100, model_thread=model_thread),
        log_kwargs={"flush_s": 0.05},
    )  # fmt: skip
    with run_server(application, ws.root, plain_uvicorn=plain) as server:

        def send(rid: str) -> tuple[str, list[int]]:
            status, out = server.json(
                "POST", "/v2/models/lr/infer", infer_body(sent[rid]),
                headers={"X-Request-ID": rid},
            )  # fmt: skip
            assert status == 200
            return rid, out["outputs"][0]["data"]

        with ThreadPoolExecutor(16) as pool:
            answered = dict(pool.map(send, sent))
        _, _, text = server.request("GET", "/metrics")
    batches = [
        float(line.rsplit(" ", 1)[1]) for line in text.decode().splitlines()
        if line.startswith('tether_batch_rows_count{model="lr"}')
    ]  # fmt: skip
    assert batches and batches[0] < len(sent) / 2  # requests shared batches
    frame = predictions("lr", workspace=ws)
    assert len(frame) == sum(len(rows) for rows in sent.values())
    for rid, rows in sent.items():
        logged = frame[frame["request_id"] == rid]
        assert logged["row"].tolist() == list(range(len(rows)))
        assert logged[[f"input_{j}" for j in range(4)]].to_numpy().tolist() == rows
        assert logged["prediction"].tolist() == answered[rid]
        assert (logged["latency_ms"] > 0).all()


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_a_sampled_log_keeps_about_its_share_of_requests_whole(ws: Workspace, share: float) -> None:
    """``log_sample``: each request is kept or left out whole (all its rows or none), about
    ``share`` of them, also when requests share batches."""
    from concurrent.futures import ThreadPoolExecutor

    application = app(
        ["lr@champion"], workspace=ws, options=Options(poll_s=0, max_wait_ms=20),
        log_kwargs={"flush_s": 0.05}, log_sample=share,
    )  # fmt: skip
    with run_server(application, ws.root) as server:

        def send(i: int) -> None:
            body = infer_body([ROW] * 2)
            status, _ = server.json(
                "POST", "/v2/models/lr/infer", body, headers={"X-Request-ID": f"s{i}"}
            )
            assert status == 200

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(400)))
    frame = predictions("lr", workspace=ws)
    counts = frame.groupby("request_id").size().tolist() if len(frame) else []
    assert set(counts) <= {2}  # whole requests
    kept = len(counts)
    if share == 0.0:
        assert kept == 0
    elif share == 1.0:
        assert kept == 400
    else:  # binomial(400, 0.5): 200 +- 10; outside 140..260 once in 10^9
        assert 140 <= kept <= 260


def test_batches_and_single_records_waiting_together_are_all_written_exactly(
    ws: Workspace,
) -> None:
    """One put of what waits: a batch the ring takes whole, a batch it cannot (its inputs a
    view that is not contiguous: its requests go in one by one) and requests recorded one by
    one; and a batch over the rows bound is dropped whole and counted. All the others are
    written, each request's rows as recorded."""
    import asyncio

    import numpy as np

    from tether.serving.asgi import _writer_process
    from tether.serving.logring import Ring
    from tether.serving.predlog import PredictionLog

    if Ring.create() is None:
        return  # no memfd on this system: batches are recorded request by request (tested)
    log = PredictionLog(
        ws.store, ws.objects, "serve", flush_s=60, put_wait_s=3600, put_every=10_000,
        max_rows=40, process=_writer_process(ws),
    )  # fmt: skip
    whole = np.arange(12, dtype="float64").reshape(4, 3)
    strided = np.arange(24, dtype="float64").reshape(4, 6)[:, ::2]

    async def serve() -> tuple[int, int]:  # in an event loop, as the server records
        ones, zeros = np.array([0, 1, 0, 1]), np.zeros(4, "int64")
        log.record_batch("mix", 1, ["w0", "w1"], 1.0, [0.1, 0.2], whole, ones, [1, 3])
        log.record("mix", 1, "s0", 2.0, 0.3, np.full((2, 3), 7.0), np.array([1, 1]), 2)
        log.record_batch("mix", 1, ["v0", "v1"], 3.0, [0.4, 0.5], strided, zeros, [2, 2])
        big = np.zeros((40, 3))
        log.record_batch("mix", 1, ["big"], 4.0, [0.6], big, np.zeros(40, "int64"), [40])
        return len(log._batches), len(log._pending)

    try:
        assert asyncio.run(serve()) == (2, 1)  # waiting for the put, an hour away
        assert log.dropped == 40  # over max_rows with the rest waiting: refused whole
    finally:
        log.close()
    assert (log.written, log.dropped) == (10, 40)
    frame = predictions("mix", workspace=ws).sort_values(["request_id", "row"])
    assert frame["request_id"].tolist() == [
        "s0",
        "s0",
        "v0",
        "v0",
        "v1",
        "v1",
        "w0",
        "w1",
        "w1",
        "w1",
    ]
    inputs = frame[[f"input_{j}" for j in range(3)]].to_numpy()
    assert np.array_equal(inputs[0:2], np.full((2, 3), 7.0))
    assert np.array_equal(inputs[2:6], strided)
    assert np.array_equal(inputs[6:], whole)
    assert (
        frame["latency_ms"].round(3).tolist()
        == [300.0] * 2 + [400.0] * 2 + [500.0] * 2 + [100.0] + [200.0] * 3
    )


def test_requests_to_a_table_model_batched_together_are_logged_each_as_sent(
    ws: Workspace, model_root: Path
) -> None:
    """A model of named columns (a DataFrame in, not one array) runs shared batches too; the
    log cannot take those whole and records each answered request on its own: every request
    comes back under its id, its values and prediction as sent and answered."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.serving.conftest import set_alias
    from tether.serving.source import DirectorySource

    set_alias(model_root, "tab", "champion", 1)
    application = app(
        ["tab@champion"], source=DirectorySource(model_root), workspace=ws,
        options=Options(poll_s=0, max_wait_ms=100), log_kwargs={"flush_s": 0.05},
    )  # fmt: skip
    sent = {f"t{i}": ([20 + i, 21 + i], ["pro" if i % 2 else "basic", "basic"]) for i in range(24)}
    with run_server(application, ws.root) as server:

        def send(rid: str) -> tuple[str, list[int]]:
            ages, plans = sent[rid]
            body = {
                "inputs": [
                    {"name": "age", "shape": [2], "datatype": "INT64", "data": ages},
                    {"name": "plan", "shape": [2], "datatype": "BYTES", "data": plans},
                ],
                "parameters": {"content_type": "pd"},
            }
            status, out = server.json(
                "POST", "/v2/models/tab/infer", body, headers={"X-Request-ID": rid}
            )
            assert status == 200, out
            return rid, out["outputs"][0]["data"]

        with ThreadPoolExecutor(12) as pool:
            answered = dict(pool.map(send, sent))
        _, _, text = server.request("GET", "/metrics")
    batches = [
        float(line.rsplit(" ", 1)[1]) for line in text.decode().splitlines()
        if line.startswith('tether_batch_rows_count{model="tab"}')
    ]  # fmt: skip
    assert batches and batches[0] < len(sent)  # requests shared batches
    frame = predictions("tab", workspace=ws)
    assert len(frame) == 2 * len(sent)
    for rid, (ages, plans) in sent.items():
        logged = frame[frame["request_id"] == rid]
        assert logged["input_age"].tolist() == ages
        assert logged["input_plan"].tolist() == plans
        assert logged["prediction"].tolist() == answered[rid]
