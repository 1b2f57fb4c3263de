"""Value types shared by the object store's modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[int], None]
"""A callback that receives how much work (bytes or items, as documented) just finished."""


@dataclass(frozen=True)
class ObjectInfo:
    """A stored (or hashed) object: its BLAKE3 digest and size in bytes."""

    digest: str
    size: int


@dataclass(frozen=True)
class TreeInfo:
    """A stored tree: the manifest's digest, total bytes of its files and how many files."""

    digest: str
    size: int
    count: int


def no_progress(_: int) -> None:
    """The progress callback that reports nowhere."""
