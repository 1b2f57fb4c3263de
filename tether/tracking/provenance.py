"""What a run records about its making: code, environment, command, host, process."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.tracking.capture import (
    GitInfo,
    capture_command,
    capture_environment,
    capture_git,
    capture_host,
)
from tether.tracking.process import process_start_ticks

if TYPE_CHECKING:
    from tether.tracking.session import Session

# A sweep starts many runs a second from one process; the code does not change between them.
# The git state is reused for this long, and sooner re-read when HEAD or the index moves.
GIT_REUSE_S = 2.0

_git_lock = threading.Lock()
_git_cache: dict[str, tuple[float, tuple[int, ...], GitInfo | None, tuple[str, ...]]] = {}
_recorded: set[str] = set()  # object digests this process already stored and recorded


def _git_fingerprint(cwd: Path, git: GitInfo | None) -> tuple[int, ...]:
    if git is None:
        return ()
    marks: list[int] = []
    for name in ("HEAD", "index"):
        try:
            st = (Path(git.root) / ".git" / name).stat()
            marks += [st.st_mtime_ns, st.st_size]
        except OSError:
            marks += [0, 0]
    return tuple(marks)


def cached_git(cwd: Path, warnings: list[str]) -> GitInfo | None:
    key = str(cwd)
    now = time.monotonic()
    with _git_lock:
        hit = _git_cache.get(key)
    if hit is not None:
        at, fingerprint, git, old_warnings = hit
        if now - at < GIT_REUSE_S and _git_fingerprint(cwd, git) == fingerprint:
            warnings.extend(old_warnings)
            return git
    mine: list[str] = []
    git = capture_git(cwd, warnings=mine)
    with _git_lock:
        _git_cache[key] = (now, _git_fingerprint(cwd, git), git, tuple(mine))
    warnings.extend(mine)
    return git


def _store_once(session: Session, data: bytes, digest: str | None = None) -> str:
    """Put ``data`` and record it, unless this process already did."""
    from tether.store import ObjectRecord

    if digest is not None and digest in _recorded:
        return digest
    info = session.objects.put_bytes(data)
    if info.digest not in _recorded:
        session.store.record_objects([ObjectRecord(info.digest, info.size)])
        _recorded.add(info.digest)
    return info.digest


def capture_provenance(session: Session) -> dict[str, Any]:
    """Capture everything and store the bulky parts (diff, package list) as shared objects."""
    warnings: list[str] = []
    command = capture_command(warnings=warnings)
    environment = capture_environment()
    info: dict[str, Any] = {
        "env": environment.to_dict(),
        "command": command.to_dict(),
        "host": capture_host(warnings=warnings).to_dict(),
        "process": {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "start_ticks": process_start_ticks(os.getpid()),
            "started_ms": int(time.time() * 1000),
        },
    }
    _store_once(session, environment.packages, environment.packages_digest)
    git = cached_git(Path(command.cwd), warnings)
    if git is not None:
        info["code"] = git.to_dict()
        if git.diff:
            _store_once(session, git.diff, info["code"]["diff_digest"])
    if warnings:
        info["capture_warnings"] = warnings
    return info
