"""A thread pool map that stops at the first error."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Threads for I/O-bound work: a few per core (the objects.workers default)."""
    return min(32, (os.cpu_count() or 1) * 4)


def pmap(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``[fn(x) for x in items]`` on ``workers`` threads; the first error cancels the rest."""
    todo = list(items)
    if workers <= 1 or len(todo) <= 1:
        return [fn(x) for x in todo]
    with ThreadPoolExecutor(min(workers, len(todo)), thread_name_prefix="tether-objects") as pool:
        futures = [pool.submit(fn, x) for x in todo]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
