"""Time-ordered run ids (UUIDv7, RFC 9562); Python 3.11's ``uuid`` has no generator for them."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_seq = 0


def uuid7() -> str:
    """A new UUIDv7 string; ids made later in this process always sort after earlier ones.

    Within one millisecond the 12-bit ``rand_a`` field counts up (RFC 9562 method 1), so ids stay
    monotonic even when thousands are made per millisecond.
    """
    global _last_ms, _last_seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _last_seq += 1
            if _last_seq > 0xFFF:  # counter spent: borrow the next millisecond
                ms += 1
                _last_seq = 0
        else:
            _last_seq = int.from_bytes(os.urandom(2), "big") & 0x7FF
        _last_ms = ms
        seq = _last_seq
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


SHORT = 12  # hex characters of a short run id: the random last group of a UUIDv7


def short_id(run_id: str) -> str:
    """The short form of a run id that people see: its random tail, not its time-ordered start.

    Every store command that takes a run id accepts it (``Store.resolve_run_id``).
    """
    return run_id[-SHORT:]
