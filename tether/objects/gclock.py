"""The collection lock: writers that store objects and then record them hold it shared;
garbage collection holds it exclusively while it re-reads its roots and deletes.

A writer such as ``tether data add`` stores its objects (or finds them already stored) before
it records the dataset version that refers to them; between the two, nothing refers to them.
Holding ``<objects>/gc.lock`` shared across both steps means a collector that holds it
exclusively sees every such writer either finished (its version recorded, so a root) or not
started (nothing stored or relied on yet). Taking it also lists the packs again, so that the
writer does not rely on a copy that a collection removed from a pack it rewrote. See
docs/architecture.md, "Garbage collection".

Only local stores have the lock (``flock`` on a file); elsewhere both are no-ops.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tether.objects.store import ObjectStore

LOCK_NAME = "gc.lock"

_held = threading.local()  # how many shared holds this thread has (a collector must have none)
_collections = 0  # collections this process started: caches of "found stored" start over


def collections() -> int:
    """How many collections this process has started (a writer that skips looking at objects
    it found stored a moment ago looks again after one)."""
    return _collections


def _lock_path(objects: ObjectStore) -> str | None:
    root = getattr(objects.backend, "root", None)
    return os.path.join(root, LOCK_NAME) if objects.is_local and root else None


def _open(path: str) -> int | None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return None  # a read-only store: this process cannot store objects there anyway


@contextlib.contextmanager
def writing(objects: ObjectStore) -> Iterator[None]:
    """Hold the collection lock shared: around storing objects and recording what refers to
    them. Cheap (one open and one ``flock``); many writers hold it at once."""
    path = _lock_path(objects)
    fd = None if path is None else _open(path)
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        packs = getattr(objects.backend, "packs", None)
        if packs is not None:  # a collection may have rewritten packs since this process looked
            packs.refresh(force=True)
        _held.n = getattr(_held, "n", 0) + 1
        try:
            yield
        finally:
            _held.n -= 1
    finally:
        os.close(fd)  # releases the lock


def holds_shared() -> bool:
    """This thread holds the lock shared (so collecting here would wait for itself)."""
    return getattr(_held, "n", 0) > 0


@contextlib.contextmanager
def collecting(objects: ObjectStore) -> Iterator[None]:
    """Hold the collection lock exclusively: no writer is between storing and recording."""
    global _collections
    _collections += 1
    path = _lock_path(objects)
    fd = None if path is None else _open(path)
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def freshen(objects: ObjectStore, digest: str) -> None:
    """Mark a loose object as just written (its mtime), so that the grace period of a
    collection keeps it: for writers that found it already stored and record it later,
    without the lock (like git, which freshens the objects it would have written)."""
    local_path = getattr(objects.backend, "local_path", None)
    path = local_path(digest) if local_path is not None else None
    if path is not None:
        with contextlib.suppress(OSError):
            os.utime(path)
