"""Who leads a loop: a lease row in the metadata store, renewed while an attempt runs."""

from __future__ import annotations

import os
import socket
import threading

from tether.store import Store


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(holder: str) -> bool:
    """The holder ran on this host as a process that no longer exists (killed, crashed)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(store: Store, project: str, loop: str, holder: str, ttl_s: float) -> bool:
    """Take the lease: free, expired, ours, or held by a dead process on this host."""
    if store.acquire_loop_lease(project, loop, holder, ttl_s):
        return True
    current = store.get_loop_lease(project, loop)
    if current is not None and _dead_here(current[0]):
        return store.acquire_loop_lease(project, loop, holder, ttl_s, steal_from=current[0])
    return False


class Renewer:
    """Renews the lease every third of its time while a long attempt (training) runs."""

    def __init__(self, store: Store, project: str, loop: str, holder: str, ttl_s: float) -> None:
        self._args = (project, loop, holder, ttl_s)
        self._store = store
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, daemon=True, name="tether-lease")

    def _renew(self) -> None:
        ttl_s = self._args[3]
        while not self._stop.wait(ttl_s / 3):
            try:
                self._store.acquire_loop_lease(*self._args)
            except Exception:  # the store is briefly unavailable: try again next time
                continue

    def __enter__(self) -> Renewer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
