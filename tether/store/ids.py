"""Time-ordered run ids (UUIDv7, RFC 9562); Python 3.11's ``uuid`` has no generator for them."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_seq = 0
_pool = b""  # random bytes read ahead: one os.urandom call per ~400 ids, not two per id
_pool_at = 0


def _forget_pool() -> None:
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


os.register_at_fork(after_in_child=_forget_pool)  # a forked child must not reuse the parent's


def _random(n: int) -> int:
    """``n`` random bytes as an integer (call with ``_lock`` held)."""
    global _pool, _pool_at
    if _pool_at + n > len(_pool):
        _pool, _pool_at = os.urandom(4096), 0
    value = int.from_bytes(_pool[_pool_at : _pool_at + n], "big")
    _pool_at += n
    return value


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
            _last_seq = _random(2) & 0x7FF
        _last_ms = ms
        seq = _last_seq
        rand_b = _random(8) & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


SHORT = 12  # hex characters of a short run id: the random last group of a UUIDv7


def short_id(run_id: str) -> str:
    """The short form of a run id that people see: its random tail, not its time-ordered start.

    Every store command that takes a run id accepts it (``Store.resolve_run_id``).
    """
    return run_id[-SHORT:]
