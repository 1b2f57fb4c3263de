"""Temporary files that name their writer, so that the next writer can tell a killed writer's
files from a live one's.

A process that writes into a store's ``tmp/`` first creates ``owners/<token>.lock`` beside it
and holds an ``flock`` on it for as long as it lives; each of its temporary files is named
``<kind>-<token>-<random>``. The kernel drops the lock when the process dies, SIGKILL included,
and the lock belongs to the open file, not to a pid, so a reused pid cannot make a dead writer
look alive. :func:`sweep` removes the files of every token whose lock file is gone or can be
locked (nobody holds it), then that lock file. A normal exit removes the process's lock file.

Names without a token (written before this scheme) are removed once a day old, as before.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import secrets
import threading
import time

LEGACY_STALE_S = 24 * 3600
"""Temporary files without an owner token (older versions) are removed past this age."""

_LOCK_SUFFIX = ".lock"
_TOKEN_LEN = 12

_owned: dict[str, tuple[int, str]] = {}  # owners folder -> (lock fd, token) of this process
_lock = threading.Lock()


def lock_name(token: str) -> str:
    return f"{token}{_LOCK_SUFFIX}"


def _is_token(token: str) -> bool:
    return len(token) == _TOKEN_LEN and all(c in "0123456789abcdef" for c in token)


def token_of(name: str) -> str | None:
    """The owner token in a temporary file's name (``<kind>-<token>-<random>``), or None."""
    parts = name.split("-", 2)
    return parts[1] if len(parts) == 3 and _is_token(parts[1]) else None


def owner_token(owners_dir: str) -> str:
    """This process's token, creating and locking its lock file in ``owners_dir`` once."""
    with _lock:
        held = _owned.get(owners_dir)
        if held is not None:
            return held[1]
        os.makedirs(owners_dir, exist_ok=True)
        for _ in range(16):
            token = secrets.token_hex(_TOKEN_LEN // 2)
            path = os.path.join(owners_dir, lock_name(token))
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a sweeper took it between our create and lock
                os.close(fd)
                continue
            try:  # a sweeper may have removed it in that window: then it is not ours
                ours = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                ours = False
            if not ours:
                os.close(fd)
                continue
            _owned[owners_dir] = (fd, token)
            return token
        raise OSError(17, f"could not create an owner lock in {owners_dir}")


def sweep(tmp_dir: str, owners_dir: str) -> int:
    """Remove the temporary files of writers that are gone, and their lock files; return how
    many temporary files were removed."""
    try:
        names = os.listdir(tmp_dir)
    except OSError:
        names = []
    try:
        locks = os.listdir(owners_dir)
    except OSError:
        locks = []
    mine = {token for _, token in _owned.values()}
    by_token: dict[str, list[str]] = {}
    for name in locks:
        locker = name[: -len(_LOCK_SUFFIX)]
        if name.endswith(_LOCK_SUFFIX) and _is_token(locker) and locker not in mine:
            by_token.setdefault(locker, [])
    legacy: list[str] = []
    for name in names:
        token = token_of(name)
        if token is None:
            legacy.append(name)
        elif token not in mine:
            by_token.setdefault(token, []).append(name)
    removed = 0
    for token, files in by_token.items():
        lock_path = os.path.join(owners_dir, lock_name(token))
        try:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)  # flock needs no write access
        except FileNotFoundError:
            fd = -1  # its lock is gone: the writer exited or was swept already
        except OSError:
            continue
        try:
            if fd >= 0:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # held: a live writer
            # dead: its files first, its lock file last (while we hold the lock)
            for name in files:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(tmp_dir, name))
                    removed += 1
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.unlink(lock_path)
        finally:
            if fd >= 0:
                os.close(fd)
    cutoff = time.time() - LEGACY_STALE_S
    for name in legacy:
        path = os.path.join(tmp_dir, name)
        with contextlib.suppress(OSError):
            if os.lstat(path).st_mtime < cutoff:
                os.unlink(path)
                removed += 1
    return removed


def _release_all() -> None:
    """At exit: drop this process's lock files (its temporary files are gone by then, or are
    removed by the next writer as a dead writer's)."""
    with _lock:
        for owners_dir, (fd, token) in list(_owned.items()):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(owners_dir, lock_name(token)))
            with contextlib.suppress(OSError):
                os.close(fd)
        _owned.clear()


def _forget_in_child() -> None:
    """A forked child writes under tokens of its own; the parent's locks stay the parent's."""
    global _lock
    _lock = threading.Lock()
    for fd, _ in _owned.values():
        with contextlib.suppress(OSError):
            os.close(fd)  # the parent's lock lives on in the parent's descriptor
    _owned.clear()


atexit.register(_release_all)
os.register_at_fork(after_in_child=_forget_in_child)
