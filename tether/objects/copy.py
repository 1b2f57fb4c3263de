"""Streaming copies that hash what they write, in reused fixed-size buffers."""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import queue
import threading
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


PUT_CHUNK = 8 * 1024 * 1024
"""Buffer size of the single-pass put: each buffer is read once, hashed, then written."""

PUT_BUFFERS = 3
"""Buffers in flight: one being read and hashed, up to two queued for (or in) the writer."""

_ALIGN = 4096
"""O_DIRECT wants buffers, offsets and lengths aligned to the logical block size (<= 4 KiB)."""


class SourceReadError(Exception):
    """Reading the source failed (kept apart from write errors, which name the store)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for ``fd``; False when the platform or filesystem refuses."""
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        return False
    import fcntl

    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | direct if on else flags & ~direct)
    except OSError:
        return False
    return True


def _read_full(fd: int, view: memoryview) -> int:
    """Fill ``view`` from ``fd``; fewer bytes only at end of file."""
    got = 0
    try:
        while got < len(view):
            n = os.readv(fd, [view[got:]])
            if n == 0:
                break
            got += n
    except OSError as e:
        raise SourceReadError(e) from None
    return got


class _Writer:
    """Writes buffers to ``out_fd`` on its own thread, in order; hands each buffer back."""

    def __init__(self, out_fd: int, direct: bool, free: queue.Queue[mmap.mmap]) -> None:
        self.out_fd = out_fd
        self.direct = direct
        self.free = free
        self.todo: queue.Queue[tuple[mmap.mmap, int] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="tether-put-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.todo.get()) is not None:
            buf, n = item
            if self.error is None:
                try:
                    self._write(buf, n)
                except BaseException as e:  # reported to the reading thread
                    self.error = e
            self.free.put(buf)

    def _write(self, buf: mmap.mmap, n: int) -> None:
        with memoryview(buf) as whole:
            view = whole[:n]
            if self.direct and n % _ALIGN:  # the unaligned tail: through the page cache
                self.direct = not set_direct(self.out_fd, False)
            while view:
                try:
                    view = view[os.write(self.out_fd, view) :]
                except OSError as e:
                    # A filesystem may accept O_DIRECT yet refuse a write: go buffered.
                    if e.errno != errno.EINVAL or not self.direct:
                        raise
                    self.direct = not set_direct(self.out_fd, False)
                    if self.direct:
                        raise
            view.release()

    def close(self) -> None:
        self.todo.put(None)
        self.thread.join()


def copy_hashing_fd(
    src_fd: int,
    out_fd: int,
    *,
    direct: bool = False,
    chunk: int | None = None,
    progress: Progress = no_progress,
) -> tuple[str, int]:
    """Copy ``src_fd`` to ``out_fd`` in one pass; return the digest and size of what was written.

    Each buffer is read once, hashed on this thread and written by a writer thread, so hashing
    and writing overlap and the bytes hashed are exactly the bytes written. ``direct`` writes
    with O_DIRECT where the filesystem allows it: a large object then skips the page cache
    (no dirty pages to flush later, no cache pressure). Memory: ``PUT_BUFFERS`` buffers.
    """
    chunk = chunk or PUT_CHUNK
    if direct:
        direct = set_direct(out_fd, True)
    free: queue.Queue[mmap.mmap] = queue.Queue()
    buffers = [mmap.mmap(-1, chunk) for _ in range(PUT_BUFFERS)]  # page-aligned
    for b in buffers:
        free.put(b)
    hasher = new_hasher()
    writer = _Writer(out_fd, direct, free)
    size = 0
    try:
        while writer.error is None:
            buf = free.get()
            with memoryview(buf) as view:
                n = _read_full(src_fd, view)
                if n == 0:
                    break
                with view[:n] as data:
                    hasher.update(data)
            writer.todo.put((buf, n))
            size += n
            progress(n)
            if n < chunk:
                break
    finally:
        writer.close()
        for b in buffers:
            with contextlib.suppress(BufferError):  # a view still held by a traceback
                b.close()
    if writer.error is not None:
        raise writer.error
    return str(hasher.hexdigest()), size
