"""The few primitives an object storage backend implements; ObjectStore builds the rest.

Backends take digests already validated and bytes already hashed by the caller. Every write
is atomic: a reader sees the whole object under its digest or nothing.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import BinaryIO, Protocol

from tether.objects.types import ObjectInfo, Progress, no_progress


class Backend(Protocol):
    url: str

    def size(self, digest: str) -> int | None:
        """The object's size in bytes, or None when it is not stored."""

    def stored(self, digest: str, size: int) -> bool:
        """The object is stored with ``size`` bytes (a copy of another size is damaged)."""

    def missing(
        self, digests: Iterable[str], workers: int, sizes: Mapping[str, int] | None = None
    ) -> set[str]:
        """The digests among ``digests`` that are not stored (``sizes``: also those stored
        with another size, where the backend knows sizes without extra requests)."""

    def open(self, digest: str) -> BinaryIO:
        """A readable binary stream of the object; ObjectNotFound when absent."""

    def write_bytes(self, digest: str, data: bytes | memoryview) -> None:
        """Store ``data`` (already hashed to ``digest``) atomically."""

    def read_many(self, digests: Sequence[str]) -> dict[str, bytes]:
        """The bytes of many (small) objects, fetched concurrently where the storage is remote;
        ObjectNotFound names the first absent one."""

    def write_many(self, objects: Mapping[str, bytes]) -> None:
        """Store many (small) objects, each already hashed to its key; uploads run concurrently
        where the storage is remote. Each object is atomic; the batch as a whole is not."""

    def write_file(self, digest: str, path: str, st: os.stat_result) -> None:
        """Store the file at ``path`` (hashed to ``digest`` when it had stat ``st``).

        Raises SourceChanged when the file's size or mtime differs from ``st`` afterwards.
        """

    def write_stream(self, digest: str, reader: BinaryIO, source: str) -> int:
        """Store what ``reader`` yields and return its size.

        Raises CorruptObject (naming ``source``; nothing is stored) when the bytes do not hash
        to ``digest``.
        """

    def batch(self) -> AbstractContextManager[None]:
        """Group many writes; a backend may defer syncing until the batch ends."""

    def delete(self, digest: str) -> None:
        """Remove the object if it is stored."""

    def list(self) -> Iterator[str]:
        """Every stored digest."""


class LocalCapabilities(ABC):
    """What only a store in a local folder can do, beside the :class:`Backend` primitives.

    A backend that can declares it by subclassing this; ``ObjectStore.local`` is that backend,
    or None for object storage, so callers test ``store.local is not None`` instead of probing
    for attributes. Objects are loose files (``<root>/ab/cdef…``) or packed (``<root>/packs``).
    """

    root: str
    """The folder holding the objects."""

    @abstractmethod
    def path(self, digest: str) -> str:
        """Where the object's loose file is, or would be (it may not exist)."""

    @abstractmethod
    def local_path(self, digest: str) -> str | None:
        """The object's loose file; None when it is packed or not stored."""

    @abstractmethod
    def loose_path(self, digest: str) -> str:
        """The object's loose file, unpacking it first when it is only packed (for hard links
        and symlinks, which need a file of their own); ObjectNotFound when absent."""

    @abstractmethod
    def packed(self, digest: str) -> tuple[int, int, int] | None:
        """``(fd, offset, size)`` of a packed object, for kernel copies (copy_file_range);
        None when it is not packed (a miss is cheap: the caller falls back to the loose file)."""

    @abstractmethod
    def put_fd(
        self, src: int, path: str, st: os.stat_result, progress: Progress = no_progress
    ) -> ObjectInfo:
        """Store the open file ``src`` (stat ``st``) in one pass, hashing while writing; the
        object is filed under the digest computed. SourceChanged when it changed meanwhile."""

    @abstractmethod
    def known_bad(self) -> set[str]:
        """Digests whose stored copy ``verify`` found damaged (puts store them again)."""

    @abstractmethod
    def set_known_bad(self, digests: Iterable[str]) -> None:
        """Replace the list of damaged copies."""
