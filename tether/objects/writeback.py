"""Starting the disk writes of bytes a store has just written, without waiting for them.

A store that writes a gigabyte leaves it dirty in the page cache, and whatever makes it durable
(the batch's ``syncfs`` with ``objects.fsync``, the kernel's flusher, a user's ``sync``) then
waits for all of it at once, after the command. Asking the kernel to start writing each finished
stretch while the next files are still being read and hashed overlaps the disk with that work:
storing 20,000 files of 50 KiB and then running ``sync`` took 1.36 s without it and 1.00 s with
it on our 2-core VM (the ``sync`` itself: 0.49 s, then 0.01 s). This is git's "writeout-only"
flush: Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``, a no-op elsewhere. It promises
nothing: durability still comes only from fsync.
"""

from __future__ import annotations

import sys

STEP = 16 * 1024 * 1024
"""Bytes written between two starts: large enough for few calls, small enough to overlap."""

_SYNC_FILE_RANGE_WRITE = 2

_call: object = None  # the libc function once looked up; False where there is none


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing ``length`` bytes of ``fd`` from ``offset`` to the disk; never waits for
    them, never fails (an error only means the kernel's flusher writes them later)."""
    global _call
    if _call is None:
        _call = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).sync_file_range
                fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                fn.restype = ctypes.c_int
                _call = fn
            except (OSError, AttributeError):
                pass
    if _call is not False and length > 0:
        _call(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # type: ignore[operator]
