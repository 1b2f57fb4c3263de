"""Fixed glibc malloc thresholds for the long-lived server process.

glibc raises its mmap threshold (up to 32 MiB) each time a large block that it had mapped is
freed, and its trim threshold with it (twice the mmap threshold). A server that logs
predictions frees a large block on every segment, so soon every batch the log builds comes
from the heap, and the heap is never given back: S1 with the log on held 215-240 MB where
the same load with these two thresholds fixed held 188 MB. Fixing them (``mallopt``) keeps
large blocks mapped (returned to the system when freed) and trims the heap's free top.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# blocks from 4 MiB up are mapped (a log segment's buffers); smaller ones (a drain's, a
# request's arrays, a model's activations) come from the heap as they would by default, so
# inference does not pay a page fault per large temporary. S1 held the same RSS with 256 KiB
MMAP_THRESHOLD = 4 * 2**20
TRIM_THRESHOLD = 1024 * 1024


def fix_malloc_thresholds(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD
) -> bool:
    """Fix glibc's mmap and trim thresholds for this process; False where the C library is
    not glibc (musl, macOS), which leaves everything as it was."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's name (musl's libc is libc.so)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(M_MMAP_THRESHOLD, mmap_threshold) and mallopt(M_TRIM_THRESHOLD, trim_threshold)
    )
