"""The prediction log's ring: records copied in by the event loop come out exactly, across the
ring's end, formats apart; what is not a plain record is left to the log's deque; a full ring
refuses (the log counts the rows dropped) and frees its room once read."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from tether.serving.logring import Ring, read, requests_of

pytestmark = pytest.mark.skipif(Ring.create() is None, reason="no memfd on this system")

SMALL = 1 << 16  # the smallest ring


def _ring(capacity: int = SMALL) -> Ring:
    ring = Ring.create(capacity)
    assert ring is not None
    return ring


def _put(
    ring: Ring,
    model: str,
    version: int,
    rid: str,
    t: float,
    latency: float,
    inputs: Any,
    outputs: Any,
    rows: int,
) -> bool | None:
    """One request as the event loop hands it over: True (copied in), False (no room), None
    (not for the ring: left to the log's deque)."""
    left, put, _ = ring.put_records([(model, version, rid, t, latency, inputs, outputs, rows)])
    return None if left else put > 0


def _read_all(ring: Ring) -> list[tuple[tuple[str, int], int, Any]]:
    taken = ring.take()
    assert taken is not None
    return ring.read_here(taken[0], taken[1])


def test_records_of_several_formats_come_out_exactly() -> None:
    ring = _ring()
    x = np.arange(6, dtype="float64").reshape(3, 2)
    y = np.array([1, 0, 1], dtype="int32")
    assert _put(ring, "m", 1, "a-é", 10.5, 0.25, x, y, 3)
    assert _put(ring, "m", 1, "b", 11.0, 0.5, x[:1] + 100, y[:1], 1)
    f32 = np.ones((2, 4), dtype="float32")
    assert _put(ring, "m", 2, "c" * 200, 12.0, 0.75, f32, np.array([0.5, 1.5]), 2)
    by_key = {key: (rows, g) for key, rows, g in _read_all(ring)}
    rows, g = by_key[("m", 1)]
    assert rows == 4 and g.rids == ["a-é", "b"]
    assert g.times.tolist() == [10.5, 11.0] and g.latencies.tolist() == [0.25, 0.5]
    assert g.counts.tolist() == [3, 1]
    assert g.inputs.dtype == np.float64 and g.inputs.tolist() == [*x.tolist(), [100.0, 101.0]]
    assert g.outputs.dtype == np.int32 and g.outputs.tolist() == [1, 0, 1, 1]
    rows, g = by_key[("m", 2)]
    assert rows == 2 and g.rids == ["c" * 200] and g.version == 2
    assert g.inputs.dtype == np.float32 and g.inputs.shape == (2, 4)
    assert g.outputs.tolist() == [0.5, 1.5]
    assert ring.tail == ring.sent == ring.state[0]  # read here: the room is free again


def test_a_full_ring_refuses_and_takes_records_again_across_its_end() -> None:
    ring = _ring()
    rng = np.random.default_rng(0)
    put: list[Any] = []
    while True:  # filled: nothing is read
        x = rng.random((7, 20))
        ok = _put(ring, "m", 1, f"r{len(put)}", time.time(), 0.001, x, np.arange(7), 7)
        if not ok:
            assert ok is False  # refused, not "not for the ring"
            break
        put.append(x)
    assert len(put) * 7 * 20 * 8 <= SMALL
    first = _read_all(ring)  # read: its room is free
    assert np.array_equal(first[0][2].inputs, np.concatenate(put))
    later = []
    for i in range(len(put)):  # these wrap around the ring's end
        x = rng.random((7, 20))
        assert _put(ring, "m", 1, f"s{i}", time.time(), 0.001, x, np.arange(7), 7)
        later.append(x)
        if i % 3 == 2:
            got = _read_all(ring)
            assert np.array_equal(got[0][2].inputs, np.concatenate(later[i - 2 : i + 1]))
            assert got[0][2].rids == [f"s{j}" for j in range(i - 2, i + 1)]
    assert ring.state[0] > ring.capacity  # went round


@pytest.mark.parametrize(
    ("inputs", "outputs", "rows"),
    [
        (np.array([{"a": 1}], dtype=object), np.zeros(1), 1),  # objects
        (np.zeros((2, 2, 2)), np.zeros(2), 2),  # 3-D
        ({"a": np.zeros(2)}, np.zeros(2), 2),  # several inputs
        (np.zeros((2, 3)), [0, 1], 2),  # outputs not an array
        (np.zeros((2, 3)), np.zeros(2), 3),  # rows that do not add up
        (np.zeros((SMALL // 8, 1)), np.zeros(SMALL // 8), SMALL // 8),  # a quarter of the ring
    ],
    ids=["objects", "3-d", "dict", "list", "rows", "too-large"],
)
def test_what_is_not_a_plain_record_is_left_to_the_deque(
    inputs: Any, outputs: Any, rows: int
) -> None:
    ring = _ring()
    assert _put(ring, "m", 1, "r", 0.0, 0.0, inputs, outputs, rows) is None
    assert ring.take() is None  # nothing written


def test_a_view_that_is_not_contiguous_is_copied_in_as_its_rows() -> None:
    ring = _ring()
    base = np.arange(40, dtype="float64").reshape(4, 10)
    view = base[:, ::3]  # 4 rows of 4, strided
    assert _put(ring, "m", 1, "v", 0.0, 0.0, view, np.arange(4)[::-1], 4)
    (_, rows, g), *_ = _read_all(ring)
    assert rows == 4 and g.inputs.tolist() == view.tolist()
    assert g.outputs.tolist() == [3, 2, 1, 0]


def test_a_request_id_that_is_not_utf8_is_left_to_the_deque() -> None:
    ring = _ring()
    assert _put(ring, "m", 1, "\udcff", 0.0, 0.0, np.zeros((1, 2)), np.zeros(1), 1) is None


def test_the_reader_takes_only_the_range_it_was_told_of() -> None:
    """The writer process reads by positions the log's thread sent: a record put after them
    is not half-read."""
    ring = _ring()
    _put(ring, "m", 1, "a", 0.0, 0.0, np.ones((1, 3)), np.zeros(1), 1)
    head = ring.state[0]
    _put(ring, "m", 1, "b", 0.0, 0.0, np.ones((1, 3)) * 2, np.zeros(1), 1)
    got = read(ring.buf, 0, head, ring.capacity, ring.by_ident)
    assert [g.rids for _, _, g in got] == [["a"]]


def test_a_turns_records_go_in_as_one_ring_record_per_format_and_come_out_in_order() -> None:
    ring = _ring()
    rng = np.random.default_rng(2)
    one = [rng.random((1, 3)) for _ in range(5)]
    two = [rng.random((2, 4)).astype("float32") for _ in range(3)]
    records = [("m", 1, f"a{i}", float(i), i / 10, x, np.array([i]), 1) for i, x in enumerate(one)]
    records += [("m", 2, f"b{i}é", 9.0, 0.5, x, np.zeros(2), 2) for i, x in enumerate(two)]
    records.insert(3, ("m", 1, "dict", 0.0, 0.0, {"a": one[0]}, np.zeros(1), 1))
    left, put, refused = ring.put_records(records)
    assert [r[2] for r in left] == ["dict"] and (put, refused) == (11, 0)
    assert ring.state[0] < 2 * 1024  # two ring records, not eight
    by_key = {key: g for key, _, g in _read_all(ring)}
    g = by_key[("m", 1)]
    assert g.rids == [f"a{i}" for i in range(5)]
    assert g.times.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert g.latencies.tolist() == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert g.counts.tolist() == [1] * 5 and g.outputs.tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(g.inputs, np.concatenate(one))
    g = by_key[("m", 2)]
    assert g.rids == [f"b{i}é" for i in range(3)] and g.counts.tolist() == [2, 2, 2]
    assert np.array_equal(g.inputs, np.concatenate(two))


def test_a_turn_larger_than_a_quarter_of_the_ring_goes_in_as_several_records() -> None:
    ring = _ring()
    xs = [np.full((10, 20), float(i)) for i in range(30)]  # 1.6 KB each, 48 KB in all
    records = [("m", 1, f"r{i}", 0.0, 0.0, x, np.zeros(10), 10) for i, x in enumerate(xs)]
    left, put, refused = ring.put_records(records)
    assert left == [] and put + refused == 300
    got = _read_all(ring)
    taken = sum(rows for _, rows, _ in got)
    assert taken == put and put >= 150  # most fit: the ring was empty
    assert np.array_equal(got[0][2].inputs, np.concatenate(xs)[:taken])


def _ring_bytes(ring: Ring) -> bytes:
    return bytes(ring.buf[: ring.state[0]])


@pytest.mark.parametrize(
    "odd",
    [
        "strided view",
        "other dtype",
        "other row shape",
        "non-ASCII id",
        "rows that do not add up",
        "not an array",
    ],
)
def test_records_that_cannot_go_in_together_go_in_one_by_one_exactly(odd: str) -> None:
    rng = np.random.default_rng(4)
    records = [
        ("m", 1, f"r{i}", float(i), 0.1, rng.random((2, 4)), np.arange(2), 2) for i in range(5)
    ]
    x = rng.random((2, 8))
    odd_record = {
        "strided view": ("m", 1, "odd", 9.0, 0.1, x[:, ::2], np.arange(2), 2),
        "other dtype": ("m", 1, "odd", 9.0, 0.1, x[:, :4].astype("float32"), np.arange(2), 2),
        "other row shape": ("m", 1, "odd", 9.0, 0.1, x, np.arange(2), 2),
        "non-ASCII id": ("m", 1, "odd-é", 9.0, 0.1, x[:, :4].copy(), np.arange(2), 2),
        "rows that do not add up": ("m", 1, "odd", 9.0, 0.1, x[:1, :4].copy(), np.arange(2), 2),
        "not an array": ("m", 1, "odd", 9.0, 0.1, x[:, :4].tolist(), np.arange(2), 2),
    }[odd]
    records.insert(2, odd_record)
    ring = _ring()
    left, put, refused = ring.put_records(records)
    by_key = {(key, g.inputs.dtype.str, g.inputs.shape[1:]): g for key, _, g in _read_all(ring)}
    plain = by_key.pop((("m", 1), np.dtype("float64").str, (4,)))
    expect = [r for r in records if r[2] != "odd" or odd in ("strided view", "non-ASCII id")]
    assert plain.rids == [r[2] for r in expect]
    assert np.array_equal(plain.inputs, np.concatenate([r[5] for r in expect]))
    if odd in ("rows that do not add up", "not an array"):
        assert [r[2] for r in left] == ["odd"] and put == 10  # the deque's: it names what is odd
    elif odd in ("other dtype", "other row shape"):  # a ring record of its own format
        assert left == [] and put == 12
        (g,) = by_key.values()
        assert g.rids == ["odd"] and np.array_equal(g.inputs, odd_record[5])
    else:
        assert left == [] and put == 12 and not by_key
    assert refused == 0


def test_ids_of_many_records_reach_the_segment_as_sent() -> None:
    """The writer takes the ids out of the ring as bytes, never as Python strings: ids of
    every length and script, in many ring records read at once, are the segment's
    ``request_id`` column exactly, each on its request's rows."""
    from tether.serving.segments import read_segment, segment

    ring = _ring(1 << 20)
    rng = np.random.default_rng(3)
    ids = ["", "a", "é" * 64, "x" * 128, "日本語-id", '"quoted"\\n', "z"] * 5
    rows = [1 + i % 3 for i in range(len(ids))]
    for start in range(0, len(ids), 6):  # ring records of up to six requests
        batch = [
            ("m", 1, rid, 1.0 + i, 0.001, rng.random((n, 2)), np.zeros(n), n)
            for i, (rid, n) in enumerate(zip(ids, rows, strict=True))
            if start <= i < start + 6
        ]
        left, put, refused = ring.put_records(batch)
        assert not left and not refused and put == sum(r[7] for r in batch)
    (key, taken, gathered), *rest = _read_all(ring)
    assert not rest and key == ("m", 1) and taken == sum(rows)
    assert gathered.rids == ids
    data, _, _ = segment([gathered])
    column = read_segment(data).column("request_id").to_pylist()
    assert column == [rid for rid, n in zip(ids, rows, strict=True) for _ in range(n)]


def _batch(model: str, version: int, ids: list[str], t: float, rows: list[int], x: Any, y: Any):
    latencies = [i / 100 for i in range(len(ids))]
    return (model, version, ids, t, latencies, x, y, rows)


def test_batches_go_in_whole_and_are_byte_for_byte_their_requests() -> None:
    """A batch's arrays go in as they are, its requests' ids, latencies and rows as columns:
    the ring then holds exactly what its requests, put one by one, would make it hold."""
    rng = np.random.default_rng(4)
    for rows, features in ((1, 3), (2, 5), (200, 50)):  # the last: over JOIN_BYTES in all
        batches = []
        for b in range(3):
            n = 4 + b
            x, y = rng.random((n * rows, features)), rng.integers(0, 9, n * rows)
            ids = [f"b{b}-r{i}-é" if i % 2 else f"b{b}-r{i}" for i in range(n)]
            batches.append(_batch("m", 1, ids, 100.0 + b, [rows] * n, x, y))
        whole, each = _ring(16 << 20), _ring(16 << 20)  # (neither splits them)
        assert whole.put_batches(batches) == ([], 15 * rows, 0)
        records = [r for b in batches for r in requests_of(b)]
        assert each.put_records(records) == ([], 15 * rows, 0)
        assert _ring_bytes(whole) == _ring_bytes(each)
        ((key, taken, g),) = _read_all(whole)
        assert key == ("m", 1) and taken == 15 * rows
        assert g.rids == [r[2] for r in records]
        assert g.times.tolist() == [r[3] for r in records]
        assert g.latencies.tolist() == [r[4] for r in records]
        assert np.array_equal(g.inputs, np.concatenate([b[5] for b in batches]))
        assert np.array_equal(g.outputs, np.concatenate([b[6] for b in batches]))


def test_batches_the_ring_cannot_take_whole_come_back_as_their_requests() -> None:
    """Batches of requests of several rows, of two formats, one of arrays that are not
    contiguous (copied in as their rows), one of an id that is not UTF-8 and one larger than a
    quarter of the ring: what the ring takes comes out exactly; the rest comes back as one
    record per request, their rows those the requests had (a bad id sends back its own batch,
    not its neighbours)."""
    ring = _ring()
    x = np.arange(24, dtype="float64").reshape(6, 4)
    y = np.array([0, 1, 2, 3, 4, 5])
    f32 = np.ones((2, 3), dtype="float32")
    strided = np.arange(48, dtype="float64").reshape(6, 8)[:, ::2]  # a view, not contiguous
    big = np.zeros((SMALL // 4 // 8, 1))  # alone a quarter of the ring
    batches = [
        _batch("m", 1, ["a", "b"], 1.0, [2, 4], x, y),
        _batch("m", 2, ["c"], 2.0, [2], f32, np.zeros(2)),
        _batch("m", 1, ["d", "e"], 3.0, [3, 3], strided, y),
        _batch("m", 1, ["f\udc80"], 4.0, [6], x, y),
        _batch("m", 1, ["g", "h"], 5.0, [len(big) - 1, 1], big, np.zeros(len(big))),
    ]
    left, put, refused = ring.put_batches(batches)
    assert (put, refused) == (14, 0)
    assert [(r[2], r[7]) for r in left] == [("f\udc80", 6), ("g", len(big) - 1), ("h", 1)]
    assert np.array_equal(left[0][5], x) and np.array_equal(left[2][5], big[-1:])
    by_key = {key: g for key, _, g in _read_all(ring)}
    g = by_key[("m", 1)]
    assert g.rids == ["a", "b", "d", "e"] and g.counts.tolist() == [2, 4, 3, 3]
    assert np.array_equal(g.inputs, np.concatenate([x, strided]))
    assert by_key[("m", 2)].rids == ["c"] and by_key[("m", 2)].inputs.dtype == np.float32


def test_batches_of_one_format_larger_than_a_quarter_of_the_ring_go_in_halves() -> None:
    ring = _ring()
    batches = [
        _batch("m", 1, [f"r{i}"], float(i), [10], np.full((10, 20), float(i)), np.zeros(10))
        for i in range(30)
    ]  # 1.6 KB each, 48 KB in all
    left, put, refused = ring.put_batches(batches)
    assert left == [] and put + refused == 300
    got = _read_all(ring)
    assert len(got) == 1 and got[0][1] == put >= 150  # most fit: the ring was empty
    assert np.array_equal(got[0][2].inputs, np.concatenate([b[5] for b in batches])[:put])
