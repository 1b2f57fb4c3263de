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

    from tether.tracking.recorder import RunRecorder
    from tether.tracking.run import ActiveRun


_lock = threading.RLock()
_stack: list[ActiveRun] = []
_installed = False
_previous_sigterm: Any = None
_previous_excepthook = sys.excepthook


# a pipeline step's in-memory run, active in the step's thread only (recorder.py)
_recording: contextvars.ContextVar[RunRecorder | None] = contextvars.ContextVar(
    "tether_step_recorder", default=None
)


def active() -> ActiveRun | RunRecorder | None:
    recorder = _recording.get()
    if recorder is not None:
        return recorder
    with _lock:
        return _stack[-1] if _stack else None


@contextlib.contextmanager
def recording(recorder: RunRecorder) -> Iterator[RunRecorder]:
    """Make ``recorder`` the active run of this thread while the block runs."""
    token = _recording.set(recorder)
    try:
        yield recorder
    finally:
        _recording.reset(token)


def running() -> list[ActiveRun]:
    with _lock:
        return list(_stack)


def push(run: ActiveRun) -> None:
    with _lock:
        _install()
        _stack.append(run)


def forget(run: ActiveRun) -> None:
    with _lock:
        if run in _stack:
            _stack.remove(run)


def _end_all(status: str, error: str | None = None) -> None:
    with _lock:
        runs = list(reversed(_stack))
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
