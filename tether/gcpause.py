"""Pausing Python's cyclic garbage collector while a bulk pass over many files runs.

A pass over 20,000 files makes hundreds of thousands of small objects (stats, tuples, records)
that all live until the pass ends. The collector runs each time enough of them pile up and then
walks every object of the process, the imported libraries' included: ``tether data add`` of
20,000 files spent 0.67 s in 4 full collections. Nothing these passes make needs collecting
early, so the collector waits until the outermost pass ends (threads share one count).

Re-enabling it would then make the next allocation collect everything the pass left (0.3 s of
CPU after a 20,000-file ``tether data add``, just before the process exits). A one-shot
process (the CLI: :func:`one_shot_process`) freezes what is alive at that point instead
(``gc.freeze``: never walked again); a library caller's process keeps the usual collection.
"""

from __future__ import annotations

import contextlib
import gc
import threading

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_freeze = False


def one_shot_process() -> None:
    """This process ends soon after its command: objects alive when a pass ends are frozen
    rather than collected."""
    global _freeze
    _freeze = True


class gc_paused(contextlib.ContextDecorator):
    """``with gc_paused():`` or ``@gc_paused()``: no cyclic collection inside."""

    def __enter__(self) -> None:
        global _depth, _was_enabled
        with _lock:
            if _depth == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _depth += 1

    def __exit__(self, *exc: object) -> None:
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                if _freeze:
                    gc.freeze()
                gc.enable()
