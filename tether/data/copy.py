"""Writing one stored object to a path: reflink, kernel copy, hard link or symlink."""

from __future__ import annotations

import contextlib
import errno
import os
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


def _current_umask() -> int | None:
    """The process umask, read without changing it (Linux: /proc); None when unknown."""
    global _umask
    if _umask is None:
        try:
            with open("/proc/self/status", "rb") as f:
                for line in f:
                    if line.startswith(b"Umask:"):
                        _umask = int(line.split()[1], 8)
                        break
        except (OSError, ValueError):
            pass
    return _umask


def _create(dst: str, mode: int) -> tuple[int, bool]:
    """Create the new file ``dst`` for writing; the descriptor, and whether ``mode`` still needs
    an fchmod (one syscall a file saved where the umask lets ``mode`` through)."""
    umask = _current_umask()
    exact = umask is not None and mode & ~umask == mode
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode if exact else 0o600)
    return fd, not exact


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
    try:
        dst_fd, chmod = _create(dst, mode)
        try:
            if not _reflink(src_fd, dst_fd):
                _kernel_copy(src_fd, dst_fd, os.fstat(src_fd).st_size)
            if chmod:
                os.fchmod(dst_fd, mode)
            return os.fstat(dst_fd)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def copy_range(src_fd: int, offset: int, size: int, dst: str, mode: int) -> os.stat_result:
    """Copy ``size`` bytes at ``offset`` of ``src_fd`` (a pack) to the new file ``dst``;
    return ``dst``'s stat."""
    dst_fd, chmod = _create(dst, mode)
    try:
        _kernel_copy(src_fd, dst_fd, size, offset)
        if chmod:
            os.fchmod(dst_fd, mode)
        return os.fstat(dst_fd)
    finally:
        os.close(dst_fd)


def copy_stream(reader: BinaryIO, dst: str, mode: int) -> os.stat_result:
    """Write what ``reader`` yields to the new file ``dst``; return its stat."""
    dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while n := reader.readinto(view):  # type: ignore[attr-defined]
            chunk = view[:n]
            while chunk:
                chunk = chunk[os.write(dst_fd, chunk) :]
        os.fchmod(dst_fd, mode)
        return os.fstat(dst_fd)
    finally:
        os.close(dst_fd)


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
