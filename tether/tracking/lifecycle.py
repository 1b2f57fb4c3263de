"""Which runs are active, and how they end when the process does.

- a ``with`` block ends its run itself (finished, failed with the traceback, or killed);
- SIGTERM ends every active run ``killed`` (metrics flushed), then lets the signal take its course;
- an uncaught exception ends them ``failed``; a normal interpreter exit ends them ``finished``.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import os
import signal
import sys
import threading
import traceback
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tether.tracking.active import ActiveRun
    from tether.tracking.recorder import RunRecorder


_lock = threading.RLock()
# every run started and not yet ended, in any thread or task: what flush and exit work on
_open: list[ActiveRun] = []
_installed = False
_previous_sigterm: Any = None
_previous_excepthook = sys.excepthook

# The active-run stack of this thread or asyncio task (innermost last). A thread starts with
# an empty stack; an asyncio task starts with a copy of its creator's. A pipeline step's
# in-memory run (recorder.py) is pushed here too, in the step's thread. A run ended from
# another context may still sit in this tuple, so readers skip ended runs.
_active: contextvars.ContextVar[tuple[ActiveRun | RunRecorder, ...]] = contextvars.ContextVar(
    "tether_active_runs", default=()
)


def active() -> ActiveRun | RunRecorder | None:
    """The innermost run of this thread or asyncio task that has not ended, or None."""
    stack = _active.get()
    for run in reversed(stack):
        if not run._ended:
            return run
    return None


@contextlib.contextmanager
def recording(recorder: RunRecorder) -> Iterator[RunRecorder]:
    """Make ``recorder`` the active run of this thread (or task) while the block runs."""
    token = _active.set((*_active.get(), recorder))
    try:
        yield recorder
    finally:
        _active.reset(token)


def running() -> list[ActiveRun]:
    """Every run not yet ended, whichever thread or task started it."""
    with _lock:
        return list(_open)


def push(run: ActiveRun) -> None:
    """Make ``run`` the active run of this thread or task (and open until it ends)."""
    with _lock:
        _install()
        _open.append(run)
    _active.set((*_active.get(), run))


def forget(run: ActiveRun) -> None:
    """``run`` has ended: drop it from the open runs, and from this context's stack."""
    with _lock:
        if run in _open:
            _open.remove(run)
    stack = _active.get()
    if run in stack:
        _active.set(tuple(r for r in stack if r is not run))


def _end_all(status: str, error: str | None = None) -> None:
    with _lock:
        runs = list(reversed(_open))
    for run in runs:
        try:
            run.end(status, error=error)
        except Exception as e:  # the process is going down; say so and carry on
            print(f"tether: could not end run {run.id}: {e}", file=sys.stderr)
    for store in {id(run.session.store): run.session.store for run in runs}.values():
        try:
            store.flush()
        except Exception as e:
            print(f"tether: could not write run records to {store.url}: {e}", file=sys.stderr)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _end_all("killed", error="SIGTERM")
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_IGN:
        return
    else:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        _end_all("killed", error="KeyboardInterrupt")
    else:
        _end_all("failed", error="".join(traceback.format_exception(exc_type, exc, tb)))
    _previous_excepthook(exc_type, exc, tb)


def _at_exit() -> None:
    _end_all("finished")


def _install() -> None:
    """Hook signals and exit once, on the first run; only the main thread may set handlers."""
    global _installed, _previous_sigterm, _previous_excepthook
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        _previous_sigterm = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
