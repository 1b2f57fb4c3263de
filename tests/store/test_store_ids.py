from __future__ import annotations

import os
import time
import uuid

from tether.store import uuid7


def test_uuid7_layout_and_time() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid.UUID(uuid7())
    after = time.time_ns() // 1_000_000
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after + 1


def test_uuid7_is_monotonic_and_unique() -> None:
    ids = [uuid7() for _ in range(20_000)]  # many per millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_forked_child_makes_ids_of_its_own() -> None:
    """Random bits are read ahead; a forked child must not draw the parent's next ones."""
    uuid7()  # the pool holds bytes the parent has not used yet
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: its next ids, then exit at once
        os.close(read)
        os.write(write, " ".join(uuid7()[-16:] for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {uuid7()[-16:] for _ in range(50)}  # the random tails (rand_b)
    assert len(child) == 50 and not child & parent
