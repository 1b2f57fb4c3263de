"""Is the process that started a run still alive? (pid plus start time, so no reused pid)."""

from __future__ import annotations

import os


def process_alive(pid: int, start_ticks: int | None) -> bool:
    """Whether ``pid`` still runs and is the same process that recorded ``start_ticks``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _stat(pid)
    if stat is None:
        return start_ticks is None
    state, ticks = stat
    if state == "Z":  # exited, not yet reaped by its parent
        return False
    return start_ticks is None or ticks == start_ticks


def process_start_ticks(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[1] if stat else None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) from /proc; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().decode().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[19])
