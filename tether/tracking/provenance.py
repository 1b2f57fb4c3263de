"""What a run records about its making: code, environment, command, host, process."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.tracking.capture import (
    CommandInfo,
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
_recorded: set[tuple[str, str, str]] = set()  # (store, objects, digest) recorded already
# (objects, digest) -> (when, collections()) this process last found it stored and freshened
# it: a run start within FRESH_S and no collection of this process since skips both (runs
# started in a loop); far inside a collection's grace period, which keeps it meanwhile
_fresh: dict[tuple[str, str], tuple[float, int]] = {}
FRESH_S = 1.0
_command_cache: dict[tuple[tuple[str, ...], str], tuple[CommandInfo, Any, tuple[str, ...]]] = {}
_process_cache: dict[int, tuple[dict[str, Any], dict[str, Any], tuple[str, ...]]] = {}


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
    """Put ``data`` (a look when it is stored: `tether gc` may have removed it since, and
    each workspace has its own objects), and record it once per store and process."""
    from tether.objects.gclock import collections, freshen
    from tether.store import ObjectRecord

    objects_url = session.objects.url
    if digest is not None and (session.store.url, objects_url, digest) in _recorded:
        hit = _fresh.get((objects_url, digest))
        if hit is not None and hit[1] == collections() and time.monotonic() - hit[0] < FRESH_S:
            return digest
    info = session.objects.put_bytes(data, digest=digest)
    freshen(session.objects, info.digest)  # the run that records it is written a moment later
    _fresh[(objects_url, info.digest)] = (time.monotonic(), collections())
    key = (session.store.url, objects_url, info.digest)
    if key not in _recorded:
        session.store.record_objects([ObjectRecord(info.digest, info.size)])
        _recorded.add(key)
    return info.digest


def _file_stamp(path: str | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def cached_command(warnings: list[str]) -> CommandInfo:
    """The command, captured again only when argv, the folder or the entry file change."""
    try:
        key = (tuple(sys.argv), os.getcwd())
    except OSError:  # the working folder is gone: capture_command says so
        return capture_command(warnings=warnings)
    hit = _command_cache.get(key)
    if hit is not None and hit[1] == _file_stamp(hit[0].entry_point):
        warnings.extend(hit[2])
        return hit[0]
    mine: list[str] = []
    command = capture_command(warnings=mine)
    _command_cache[key] = (command, _file_stamp(command.entry_point), tuple(mine))
    warnings.extend(mine)
    return command


def _process_facts() -> dict[str, Any]:
    """Host and process facts; they do not change while the process lives (a fork re-reads)."""
    pid = os.getpid()
    hit = _process_cache.get(pid)
    if hit is None:
        mine: list[str] = []
        host = capture_host(warnings=mine).to_dict()
        process = {
            "host": socket.gethostname(),
            "pid": pid,
            "start_ticks": process_start_ticks(pid),
        }
        hit = _process_cache[pid] = (host, process, tuple(mine))
    return {"host": hit[0], "process": dict(hit[1]), "warnings": hit[2]}


def capture_provenance(session: Session) -> dict[str, Any]:
    """Capture everything and store the bulky parts (diff, package list) as shared objects."""
    warnings: list[str] = []
    command = cached_command(warnings)
    environment = capture_environment()
    facts = _process_facts()
    warnings.extend(facts["warnings"])
    facts["process"]["started_ms"] = int(time.time() * 1000)
    info: dict[str, Any] = {
        "env": environment.to_dict(),
        "command": command.to_dict(),
        "host": facts["host"],
        "process": facts["process"],
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
