"""The loop lease in the store (SQLite and PostgreSQL): one holder at a time."""

from __future__ import annotations

import threading
import time

from tether.store import Store


def test_one_holder_at_a_time_until_it_expires(store: Store) -> None:
    assert store.acquire_loop_lease("p", "l", "a", 60)
    assert not store.acquire_loop_lease("p", "l", "b", 60)
    assert store.acquire_loop_lease("p", "l", "a", 60)  # renewed by its holder
    assert store.get_loop_lease("p", "l") is not None
    store.release_loop_lease("p", "l", "b")  # not b's: stays
    assert store.get_loop_lease("p", "l")[0] == "a"  # type: ignore[index]
    store.release_loop_lease("p", "l", "a")
    assert store.get_loop_lease("p", "l") is None
    assert store.acquire_loop_lease("p", "l", "b", 0.05)
    time.sleep(0.1)
    assert store.acquire_loop_lease("p", "l", "a", 60)  # b's expired
    assert not store.acquire_loop_lease("p", "l", "b", 60)


def test_concurrent_contenders_get_it_once(store: Store, store_url: str) -> None:
    from tether.store import open_store

    stores = [open_store(store_url) for _ in range(4)]
    won: list[str] = []
    barrier = threading.Barrier(len(stores))

    def contend(i: int) -> None:
        barrier.wait()
        if stores[i].acquire_loop_lease("p", "l", f"c{i}", 60):
            won.append(f"c{i}")

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(won) == 1


def test_a_trigger_key_is_recorded_once(store: Store) -> None:
    first = store.add_loop_trigger("p", "l", key="new_data:d@1", kind="new_data")
    assert first is not None and first.status == "pending"
    assert store.add_loop_trigger("p", "l", key="new_data:d@1", kind="new_data") is None
    assert store.update_loop_trigger(first.id, status="running", expect_status="pending")
    assert not store.update_loop_trigger(first.id, status="running", expect_status="pending")
    [row] = store.list_loop_triggers("p", "l", statuses=("running",))
    assert row.id == first.id
