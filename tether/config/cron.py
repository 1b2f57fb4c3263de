"""Cron schedules of `[loop.*]` and `[monitor.*]` tables, through ``croniter`` (an optional
dependency: ``pip install tether[loop]``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tether.errors import MissingDependency


def _croniter() -> Any:
    try:
        import croniter
    except ImportError:
        raise MissingDependency("a cron schedule", "loop", "croniter") from None
    return croniter


def check_cron(expr: str) -> str | None:
    """None when ``expr`` is a valid cron expression, else what is wrong."""
    if not _croniter().croniter.is_valid(expr):
        return f"{expr!r} is not a cron expression (five fields: minute hour day month weekday)"
    return None


def last_fire(expr: str, now: datetime) -> datetime:
    """The latest time at or before ``now`` the schedule fires."""
    cron = _croniter().croniter(expr, now)
    fired: datetime = cron.get_prev(datetime)
    # croniter's get_prev is strictly before ``now``; a fire exactly at ``now`` counts
    following: datetime = _croniter().croniter(expr, fired).get_next(datetime)
    return following if following <= now else fired
