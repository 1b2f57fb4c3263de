"""Adaptive batching: concurrent requests run as one model call, each gets its own rows back,
nobody waits past the maximum wait, a failing batch fails only its own requests."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from tether.serving.batching import Batcher
from tether.serving.tensors import concat, split


def _batcher(sizes: list[int], **kw: Any) -> tuple[Batcher, ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(1)

    def run(values: list[Any], rows: list[int]) -> list[Any]:
        sizes.append(sum(rows))
        batch = concat(values)
        return split(batch * 10, rows)

    return Batcher(run, pool, **kw), pool


def test_concurrent_requests_are_merged_and_split_back() -> None:
    sizes: list[int] = []
    batcher, pool = _batcher(sizes, max_batch=8, max_wait_s=0.05)

    async def main() -> list[Any]:
        xs = [np.full((1 + i % 3, 2), i) for i in range(12)]
        outs = await asyncio.gather(*(batcher.submit(x, len(x)) for x in xs))
        for x, out in zip(xs, outs, strict=True):
            assert out.tolist() == (x * 10).tolist()
        return outs

    asyncio.run(main())
    pool.shutdown()
    assert sum(sizes) == sum(1 + i % 3 for i in range(12))
    assert max(sizes) <= 8
    assert len(sizes) < 12  # merged


def test_a_full_batch_does_not_wait() -> None:
    sizes: list[int] = []
    batcher, pool = _batcher(sizes, max_batch=4, max_wait_s=60.0)

    async def main() -> None:
        xs = [np.ones((1, 2)) for _ in range(4)]
        await asyncio.wait_for(asyncio.gather(*(batcher.submit(x, 1) for x in xs)), 20)

    asyncio.run(main())  # waiting the 60 s for others would time out
    pool.shutdown()
    assert sizes == [4]


def test_a_lone_request_waits_no_longer_than_max_wait() -> None:
    sizes: list[int] = []
    started: list[float] = []
    pool = ThreadPoolExecutor(1)
    loop_time: list[Any] = []

    def run(values: list[Any], rows: list[int]) -> list[Any]:
        started.append(loop_time[0]())
        sizes.append(sum(rows))
        return values

    batcher = Batcher(run, pool, max_batch=1000, max_wait_s=0.2)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        loop_time.append(loop.time)
        t0 = loop.time()
        await asyncio.wait_for(batcher.submit(np.ones((1, 2)), 1), 20)
        return t0

    t0 = asyncio.run(main())
    pool.shutdown()
    assert sizes == [1]
    waited = started[0] - t0
    assert 0.2 <= waited < 5  # it waited for company, then went alone


def test_by_default_a_lone_request_is_not_held_and_requests_waiting_are_merged() -> None:
    sizes: list[int] = []
    batcher, pool = _batcher(sizes, max_batch=8)  # the default max_wait_s: 0

    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for _ in range(200):  # one at a time: each runs as soon as it arrives
            await batcher.submit(np.ones((1, 2)), 1)
        lone = loop.time() - t0
        # submitted in one turn of the loop: they wait together while the first batch runs
        xs = [np.full((1, 2), i) for i in range(12)]
        outs = await asyncio.gather(*(batcher.submit(x, 1) for x in xs))
        assert [o.tolist() for o in outs] == [(x * 10).tolist() for x in xs]
        return lone

    lone = asyncio.run(main())
    pool.shutdown()
    assert sizes[:200] == [1] * 200
    assert sizes[200:] == [8, 4]  # merged up to max_batch, then the rest
    assert lone < 0.15  # not held: holding each for 1 ms alone would take 0.2 s


def test_a_failing_batch_fails_its_requests_only() -> None:
    pool = ThreadPoolExecutor(1)
    calls: list[int] = []

    def run(values: list[Any], rows: list[int]) -> list[Any]:
        calls.append(len(values))
        if len(calls) == 1:
            raise RuntimeError("model blew up")
        return values

    batcher = Batcher(run, pool, max_batch=1, max_wait_s=0)

    async def main() -> list[Any]:
        return await asyncio.gather(
            batcher.submit(1, 1), batcher.submit(2, 1), return_exceptions=True
        )

    first, second = asyncio.run(main())
    pool.shutdown()
    assert isinstance(first, RuntimeError)
    assert second == 2


@pytest.mark.parametrize("rows", [1, 3])
def test_split_gives_each_request_its_rows(rows: int) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": range(rows + 2)})
    parts = split(frame, [rows, 2])
    assert [len(p) for p in parts] == [rows, 2]


@pytest.mark.parametrize("in_loop", [False, True], ids=["model-thread", "in-loop"])
def test_callbacks_get_their_rows_in_the_loop_after_submit_returns(in_loop: bool) -> None:
    sizes: list[int] = []
    batcher, pool = _batcher(sizes, max_batch=8)
    if in_loop:
        batcher.in_loop()
    got: dict[int, Any] = {}
    returned: set[int] = set()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        finished = loop.create_future()

        def done(i: int) -> Any:
            def call(result: Any, error: BaseException | None) -> None:
                assert i in returned  # never called from inside submit_call
                assert asyncio.get_running_loop() is loop
                got[i] = result if error is None else error
                if len(got) == 20 and not finished.done():
                    finished.set_result(None)

            return call

        for i in range(20):
            batcher.submit_call(np.full((1, 2), i), 1, done(i))
            returned.add(i)
        await asyncio.wait_for(finished, 20)

    asyncio.run(main())
    pool.shutdown()
    assert {i: v.tolist() for i, v in got.items()} == {i: [[i * 10] * 2] for i in range(20)}
    assert sizes == [8, 8, 4]  # queued in one turn: merged up to max_batch


def test_a_failing_callback_does_not_keep_the_others_from_their_results() -> None:
    sizes: list[int] = []
    batcher, pool = _batcher(sizes, max_batch=8)
    batcher.in_loop()
    got: list[Any] = []

    def bad(result: Any, error: BaseException | None) -> None:
        raise RuntimeError("a bug in one answer")

    async def main() -> None:
        batcher.submit_call(np.ones((1, 2)), 1, bad)
        fut = batcher.submit_nowait(np.full((1, 2), 2.0), 1)
        got.append(await asyncio.wait_for(fut, 20))
        got.append(await asyncio.wait_for(batcher.submit(np.full((1, 2), 3.0), 1), 20))

    asyncio.run(main())
    pool.shutdown()
    assert [g.tolist() for g in got] == [[[20.0, 20.0]], [[30.0, 30.0]]]


def test_a_batcher_outlives_an_event_loop_closed_with_requests_waiting() -> None:
    """As under a test client, whose loop ends with the client: the next loop is served."""
    sizes: list[int] = []
    batcher, pool = _batcher(sizes, max_batch=8, max_wait_s=60.0)

    async def left_waiting() -> None:
        batcher.submit_nowait(np.ones((1, 2)), 1)  # waits for company; its loop ends first

    asyncio.run(left_waiting())
    batcher.max_wait_s = 0.0

    async def served() -> Any:
        return await asyncio.wait_for(batcher.submit(np.full((1, 2), 5.0), 1), 20)

    out = asyncio.run(served())
    pool.shutdown()
    assert out.tolist() == [[50.0, 50.0]]
    assert sizes == [1]  # the request of the closed loop was dropped, not run


def test_a_batch_with_a_result_missing_fails_its_requests_instead_of_leaving_them_waiting() -> None:
    pool = ThreadPoolExecutor(1)

    def run(values: list[Any], rows: list[int]) -> list[Any]:
        return values[:-1]  # a bug in the model's wrapper: one result short

    batcher = Batcher(run, pool, max_batch=8)

    async def main() -> list[Any]:
        return await asyncio.wait_for(
            asyncio.gather(*(batcher.submit(i, 1) for i in range(3)), return_exceptions=True),
            20,
        )

    outs = asyncio.run(main())
    pool.shutdown()
    assert all(isinstance(o, RuntimeError) and "2 results for 3" in str(o) for o in outs)


def test_a_request_after_the_models_thread_stopped_gets_an_error() -> None:
    """The server closing (its executor shut down) answers, never leaves a request hanging."""
    pool = ThreadPoolExecutor(1)
    batcher = Batcher(lambda values, rows: values, pool, max_batch=8)
    pool.shutdown()

    async def main() -> Any:
        return await asyncio.wait_for(batcher.submit(1, 1), 20)

    with pytest.raises(RuntimeError):
        asyncio.run(main())
