from __future__ import annotations

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
