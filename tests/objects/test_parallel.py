"""The thread maps behind every parallel store, hash and copy."""

from __future__ import annotations

import threading

import pytest

from tether.objects.parallel import pmap, split_map


def test_split_map_keeps_order_and_runs_the_picked_items_here() -> None:
    where: dict[int, str] = {}

    def work(x: int) -> int:
        where[x] = threading.current_thread().name
        return x * x

    items = list(range(40))
    assert split_map(work, items, 4, here=lambda x: x % 2 == 0) == [x * x for x in items]
    main = threading.current_thread().name
    assert all(where[x] == main for x in items if x % 2 == 0)
    assert all(where[x].startswith("tether-io") for x in items if x % 2)


def test_split_map_with_one_worker_runs_everything_here() -> None:
    seen = set()

    def work(x: int) -> int:
        seen.add(threading.current_thread().name)
        return x

    assert split_map(work, range(10), 1, here=lambda x: False) == list(range(10))
    assert seen == {threading.current_thread().name}


@pytest.mark.parametrize("bad", [3, 4])  # one run here, one on the pool
def test_split_map_raises_the_first_error(bad: int) -> None:
    def work(x: int) -> int:
        if x == bad:
            raise ValueError(f"item {x}")
        return x

    with pytest.raises(ValueError, match=f"item {bad}"):
        split_map(work, range(10), 4, here=lambda x: x % 2 == 0)


def test_pmap_keeps_order() -> None:
    assert pmap(lambda x: -x, range(100), 8) == [-x for x in range(100)]
