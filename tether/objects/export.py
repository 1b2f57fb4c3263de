"""Writing one stored object to a new file outside the store: out of a pack, a reflink or copy
of a loose file, a stream from object storage, a hard link or a symlink.

The transfer from a store to a workspace (``tether data checkout``), as ``sync.py`` is the one
between stores. Copies also return the BLAKE3 digest of the bytes they wrote, hashed in the
same pass (a reflink shares the source's blocks, so the source is hashed instead): a checkout
compares it with the digest it asked for, and a corrupted object never reaches the workspace.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from tether.errors import InvalidInput
from tether.objects.copy import copy_hashing
from tether.objects.digest import CHUNK, SMALL, hash_bytes, hash_fd, hash_file, new_hasher

if TYPE_CHECKING:
    from tether.objects.store import ObjectStore

FICLONE = 0x40049409
"""ioctl number of FICLONE (Linux): share the source's blocks, copy-on-write."""

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


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_hashing(src_fd: int, dst_fd: int, size: int, offset: int = 0) -> str:
    """Copy ``size`` bytes from ``offset`` in chunks, hashing each one as it is written."""
    hasher = new_hasher()
    done = 0
    while done < size:
        chunk = os.pread(src_fd, min(size - done, CHUNK), offset + done)
        if not chunk:
            raise OSError(errno.EIO, f"the source ended {size - done} bytes early")
        hasher.update(chunk)
        _write_all(dst_fd, chunk)
        done += len(chunk)
    return str(hasher.hexdigest())


def copy_file(src: str, dst: str, mode: int) -> tuple[os.stat_result, str]:
    """Copy ``src`` to the new file ``dst`` (reflink where possible); return ``dst``'s stat and
    the digest of its bytes."""
    src_fd = os.open(src, os.O_RDONLY)
    digest = ""

    def fill(fd: int) -> None:
        nonlocal digest
        size = os.fstat(src_fd).st_size
        if size <= SMALL:  # one read, hashed and written from the same buffer
            data = os.read(src_fd, size + 1)
            digest = hash_bytes(data)
            _write_all(fd, data)
        elif _reflink(src_fd, fd):  # no bytes written: the shared blocks are the source's
            digest = hash_fd(src_fd).digest
        else:
            digest = _copy_hashing(src_fd, fd, size)

    try:
        return _write_new(dst, mode, fill), digest
    finally:
        os.close(src_fd)


def copy_range(
    src_fd: int, offset: int, size: int, dst: str, mode: int
) -> tuple[os.stat_result, str]:
    """Copy ``size`` bytes at ``offset`` of ``src_fd`` (a pack) to the new file ``dst``; return
    ``dst``'s stat and the digest of its bytes."""
    digest = ""

    def fill(fd: int) -> None:
        nonlocal digest
        if size <= SMALL:  # packed objects are small: one read, hashed and written
            data = os.pread(src_fd, size, offset)
            digest = hash_bytes(data)
            _write_all(fd, data)
        else:
            digest = _copy_hashing(src_fd, fd, size, offset)

    return _write_new(dst, mode, fill), digest


def copy_stream(reader: BinaryIO, dst: str, mode: int) -> tuple[os.stat_result, str]:
    """Write what ``reader`` yields to the new file ``dst``; return its stat and the digest of
    its bytes."""
    digest = ""

    def fill(fd: int) -> None:
        nonlocal digest
        digest = copy_hashing(reader, fd)[0]

    return _write_new(dst, mode, fill), digest


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


def copy_object(
    objects: ObjectStore, digest: str, dst: str, mode: int
) -> tuple[os.stat_result, str]:
    """Write the object ``digest`` to the new file ``dst`` with ``mode``; return its stat and
    the digest of the bytes written (the caller compares it with ``digest``).

    From a local store: a packed object is copied out of its pack, a loose one reflinked or
    copied; from object storage (or a local object in neither place) it is streamed.
    """
    local = objects.local
    packed = local.packed(digest) if local is not None else None
    if packed is not None:  # most small objects: no loose file to look for
        fd, offset, size = packed
        return copy_range(fd, offset, size, dst, mode)
    if local is not None and (obj := local.local_path(digest)) is not None:
        return copy_file(obj, dst, mode)
    with objects.open_unchecked(digest) as reader:
        return copy_stream(reader, dst, mode)


def link_object(
    objects: ObjectStore, digest: str, dst: str, mode: int, *, symlink: bool
) -> tuple[os.stat_result | None, str]:
    """Link ``dst`` to the object's loose file in a local store (unpacked first when it is
    only packed), once the file is checked in place: a link shares the stored copy. Returns
    the link's stat (None for a symlink) and the digest of the stored bytes; when that is not
    ``digest``, nothing is linked."""
    local = objects.local
    if local is None:
        raise InvalidInput(f"links to stored objects need a local object store, not {objects.url}")
    obj = local.loose_path(digest)
    actual = hash_file(obj).digest
    if actual != digest:
        return None, actual
    if symlink:
        sym_link(obj, dst)
        return None, actual
    return hard_link(obj, dst, mode), actual
