"""A read stream that checks the object's digest when it reaches the end."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from tether.objects.digest import new_hasher
from tether.objects.errors import CorruptObject


class VerifyingReader(io.RawIOBase):
    """Wraps an object's stream; raises CorruptObject at end of file on a digest mismatch.

    Sequential reads are verified. A ``seek`` to anywhere but the current position turns
    verification off: the bytes read after it can no longer be checked.
    """

    def __init__(self, raw: BinaryIO, digest: str, url: str) -> None:
        self._raw = raw
        self._digest = digest
        self._url = url
        self._hasher: Any = new_hasher()
        self._hashed = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._raw.seek(offset, whence)
        if position != self._hashed:
            self._hasher = None
        return position

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if not n:
            self._check()
            return 0
        if self._hasher is not None:
            self._hasher.update(memoryview(buffer)[:n])
            self._hashed += n
        return int(n)

    def _check(self) -> None:
        if self._hasher is None or self._checked:
            return
        self._checked = True
        actual = self._hasher.hexdigest()
        if actual != self._digest:
            raise CorruptObject(
                self._digest,
                self._url,
                expected=f"digest {self._digest}",
                actual=f"digest {actual}",
            )

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
