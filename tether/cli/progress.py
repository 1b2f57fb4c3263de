"""Rich progress bars for long work, fed by the plain callbacks the API layers accept."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tether.objects.types import no_progress

REDRAW_S = 0.05
"""rich takes about 9 us per update: 20,000 files' worth cost 0.2 s."""


def _may_be_terminal() -> bool:
    """False when rich's ``Console(stderr=True).is_terminal`` is surely False: stderr is no
    TTY and neither TTY_COMPATIBLE=1 nor FORCE_COLOR says otherwise."""
    if os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):
        return True
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


@contextmanager
def progress_bar(
    description: str, total: int | None, *, unit_bytes: bool
) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback drawing a progress bar on stderr (hidden when not a TTY)."""
    if not _may_be_terminal():  # rich would hide the bar: spare its import (~50 ms)
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    columns = [TextColumn("{task.description}", markup=False), BarColumn()]  # paths as typed
    if unit_bytes:
        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn()]
    columns.append(TimeRemainingColumn())
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task(description, total=total)
        if progress.disable:
            yield no_progress
            return
        lock = threading.Lock()
        pending = 0
        shown = 0.0

        def advance(n: int) -> None:
            """Called per file: hands rich its count at most every ``REDRAW_S``."""
            nonlocal pending, shown
            with lock:
                pending += n
                now = time.monotonic()
                if now - shown < REDRAW_S:
                    return
                n, pending, shown = pending, 0, now
            progress.advance(task, n)

        yield advance
        progress.advance(task, pending)
