"""The active run belongs to one thread or asyncio task: concurrent runs do not log into
each other, and a task sees the run that was active where it was created."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from pathlib import Path

import pytest

import tether
from tether.errors import InvalidInput


def test_threads_each_log_to_their_own_run(workspace: Path) -> None:
    started = threading.Barrier(3)
    ids: dict[str, str] = {}
    errors: list[BaseException] = []

    def train(name: str) -> None:
        try:
            with tether.run(name=name, capture=False) as run:
                ids[name] = run.id
                started.wait(timeout=10)  # all three runs are active at once
                assert tether.active_run() is run
                tether.log_metric("who", float(len(name)))
                started.wait(timeout=10)
        except BaseException as e:
            errors.append(e)

    with tether.run(name="main", capture=False) as main:
        threads = [threading.Thread(target=train, args=(n,)) for n in ("a", "bb")]
        for t in threads:
            t.start()
        started.wait(timeout=10)
        started.wait(timeout=10)
        for t in threads:
            t.join()
        assert tether.active_run() is main
    assert not errors, errors
    for name in ("a", "bb"):
        run = tether.get_run(ids[name])
        assert run.parent_id is None  # a thread does not inherit another thread's run
        assert run.metric_summaries["who"].last_value == float(len(name))
    assert "who" not in tether.get_run(main.id).metric_summaries


def test_a_thread_without_a_run_sees_none(workspace: Path) -> None:
    seen: list[object] = []
    with tether.run(capture=False):
        t = threading.Thread(target=lambda: seen.append(tether.active_run()))
        t.start()
        t.join()
    assert seen == [None]


def test_asyncio_tasks_each_see_their_own_run(workspace: Path) -> None:
    async def task(name: str, gate: asyncio.Event) -> tuple[str, str | None]:
        with tether.run(name=name, capture=False) as run:
            await gate.wait()  # the other task's run is active meanwhile
            assert tether.active_run() is run
            tether.log_metric("n", float(len(name)))
            return run.id, run.parent_id

    async def main() -> tuple[str, list[tuple[str, str | None]]]:
        with tether.run(name="outer", capture=False) as outer:
            gate = asyncio.Event()
            tasks = [asyncio.create_task(task(n, gate)) for n in ("x", "yy")]
            await asyncio.sleep(0)
            gate.set()
            done = await asyncio.gather(*tasks)
            assert tether.active_run() is outer
            return outer.id, done

    outer_id, done = asyncio.run(main())
    for (run_id, parent_id), name in zip(done, ("x", "yy"), strict=True):
        assert parent_id == outer_id  # a task starts from its creator's active run
        assert tether.get_run(run_id).metric_summaries["n"].last_value == float(len(name))


def test_an_ended_run_is_freed_at_once_and_keeps_what_it_logged(workspace: Path) -> None:
    """A sweep ends thousands of runs: each is freed when its last reference goes, without
    waiting for the garbage collector, and logging to it afterwards says it has ended."""
    gc.disable()
    try:
        with tether.run(name="short", capture=False) as run:
            run.log_metrics({"acc": 0.5})
        run_id = run.id
        with pytest.raises(InvalidInput, match="ended"):
            run.log_metrics({"acc": 0.6})
        freed = weakref.ref(run)
        del run
        assert freed() is None
    finally:
        gc.enable()
    assert tether.get_run(run_id).metrics == {"acc": 0.5}
