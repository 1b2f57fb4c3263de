"""Writing one stored object to a path: reflink, kernel copy, hard link or symlink."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from typing import BinaryIO

FICLONE = 0x40049409
"""ioctl number of FICLONE (Linux): share the source's blocks, copy-on-write."""

_UNSUPPORTED = {
    errno.EXDEV,
    errno.EINVAL,
    errno.ENOSYS,
    errno.EOPNOTSUPP,
    errno.ENOTTY,
    errno.EBADF,
}


_umask: int | None = None
"""The process umask once read; -1 where it cannot be read (every file then gets an fchmod)."""


def _current_umask() -> int:
    """The process umask, read once without changing it (Linux: /proc), or -1."""
    global _umask
    if _umask is None:
        _umask = -1
        with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    _umask = int(line.split()[1], 8)
                    break
    return _umask


def _write_new(dst: str, mode: int, fill: Callable[[int], object]) -> os.stat_result:
    """Create the new file ``dst``, let ``fill`` write its descriptor, give it ``mode``; return
    its stat. The file is created with ``mode`` at once where the umask lets it through (one
    syscall a file saved), else with 0o600 and an fchmod."""
    umask = _current_umask()
    exact = umask >= 0 and mode & ~umask == mode
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode if exact else 0o600)
    try:
        fill(fd)
        if not exact:
            os.fchmod(fd, mode)
        return os.fstat(fd)
    finally:
        os.close(fd)


def _reflink(src_fd: int, dst_fd: int) -> bool:
    try:
        import fcntl

        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except (OSError, ImportError, AttributeError):
        return False
    return True


def _kernel_copy(src_fd: int, dst_fd: int, size: int, offset: int = 0) -> None:
    """Copy ``size`` bytes from ``offset`` of ``src_fd``: in the kernel, else reads and writes."""
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src_fd, dst_fd, size - done, offset + done)
            if n == 0:
                break
            done += n
    except OSError as e:
        if e.errno not in _UNSUPPORTED or done:
            raise
    while done < size:  # copy_file_range unsupported here: plain reads and writes
        chunk = os.pread(src_fd, min(size - done, 1 << 22), offset + done)
        if not chunk:
            break
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst_fd, view) :]
        done += len(chunk)
    if done != size:
        raise OSError(errno.EIO, f"the source ended {size - done} bytes early")


def copy_file(src: str, dst: str, mode: int) -> os.stat_result:
    """Copy ``src`` to the new file ``dst`` (reflink where possible); return ``dst``'s stat."""
    src_fd = os.open(src, os.O_RDONLY)

    def fill(fd: int) -> None:
        if not _reflink(src_fd, fd):
            _kernel_copy(src_fd, fd, os.fstat(src_fd).st_size)

    try:
        return _write_new(dst, mode, fill)
    finally:
        os.close(src_fd)


def copy_range(src_fd: int, offset: int, size: int, dst: str, mode: int) -> os.stat_result:
    """Copy ``size`` bytes at ``offset`` of ``src_fd`` (a pack) to the new file ``dst``;
    return ``dst``'s stat."""
    return _write_new(dst, mode, lambda fd: _kernel_copy(src_fd, fd, size, offset))


def _write_stream(reader: BinaryIO, fd: int) -> None:
    view = memoryview(bytearray(1 << 20))
    while n := reader.readinto(view):  # type: ignore[attr-defined]
        chunk = view[:n]
        while chunk:
            chunk = chunk[os.write(fd, chunk) :]


def copy_stream(reader: BinaryIO, dst: str, mode: int) -> os.stat_result:
    """Write what ``reader`` yields to the new file ``dst``; return its stat."""
    return _write_new(dst, mode, lambda fd: _write_stream(reader, fd))


def hard_link(src: str, dst: str, mode: int) -> os.stat_result:
    """Hard-link the stored object; make it read-only (an edit would corrupt the store)."""
    os.link(src, dst)
    readonly = 0o555 if mode & 0o111 else 0o444
    with contextlib.suppress(OSError):
        os.chmod(dst, readonly)
    return os.stat(dst)


def sym_link(src: str, dst: str) -> None:
    """Symlink to the stored object (which the store keeps read-only)."""
    os.symlink(src, dst)
