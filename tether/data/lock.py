"""One writer per dataset folder: ``add`` and ``checkout`` of the same path take a lock.

The lock is an ``fcntl.flock`` on ``.tether/locks/<digest of the path>.lock``, keyed by the
data's real path relative to the workspace; the holder writes its pid into the file so that a
waiter can name it. The kernel drops the lock when the holder exits, however it exits, so a
crashed command never leaves a stale lock. A second command waits up to ``timeout`` seconds
(the setting ``data.lock_timeout_s``), then fails with :class:`DatasetBusy`. Where ``fcntl``
does not exist (Windows), no lock is taken.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tether.config import WorkspaceDir
from tether.data.errors import DatasetBusy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether.workspace import Workspace

DEFAULT_TIMEOUT_S = 60.0
POLL_S = 0.05


def lock_path(workspace: WorkspaceDir | Workspace, data: Path) -> Path:
    """The lock file of the data at ``data`` (any spelling of the same real path)."""
    real = os.path.realpath(data)
    rel = os.path.relpath(real, os.path.realpath(workspace.root))
    key = hashlib.sha256(os.fsencode(rel)).hexdigest()[:32]
    return workspace.dir / "locks" / f"{key}.lock"


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
        return f"process {pid}"
    return "another process"


@contextlib.contextmanager
def dataset_lock(
    workspace: WorkspaceDir | Workspace, data: Path, *, timeout: float = DEFAULT_TIMEOUT_S
) -> Iterator[None]:
    """Hold the lock of ``data`` for the ``with`` block; wait up to ``timeout`` seconds."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = lock_path(workspace, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DatasetBusy(str(data), _holder(fd), timeout) from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
