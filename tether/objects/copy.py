"""Streaming copies that hash what they write, in reused fixed-size buffers."""

from __future__ import annotations

import os
from typing import BinaryIO

from tether.objects.digest import CHUNK, new_hasher
from tether.objects.types import Progress, no_progress


def copy_hashing(
    reader: BinaryIO, out_fd: int, progress: Progress = no_progress
) -> tuple[str, int]:
    """Copy ``reader`` to ``out_fd``; return the digest and size of the bytes copied."""
    hasher = new_hasher()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    while n := reader.readinto(view):  # type: ignore[attr-defined]
        chunk = view[:n]
        hasher.update(chunk)
        while chunk:
            chunk = chunk[os.write(out_fd, chunk) :]
        size += n
        progress(n)
    return str(hasher.hexdigest()), size


def copy_fd(src_fd: int, out_fd: int, size: int) -> int:
    """Copy ``size`` bytes in the kernel (copy_file_range, else sendfile, else read/write)."""
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src_fd, out_fd, size - done, done)
            if n == 0:
                break
            done += n
        return done
    except OSError:
        if done:
            raise
    while done < size:  # copy_file_range unsupported here (old kernel, cross-device)
        n = os.sendfile(out_fd, src_fd, done, min(size - done, 1 << 30))
        if n == 0:
            break
        done += n
    return done
