"""Re-hashing stored objects to prove they still match their digests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tether.objects.base import Backend
from tether.objects.digest import CHUNK, new_hasher
from tether.objects.errors import CorruptObject, ObjectNotFound
from tether.objects.parallel import pmap
from tether.objects.types import ObjectInfo, Progress, no_progress


@dataclass(frozen=True)
class VerifyReport:
    """How many objects matched their digests, and which did not."""

    ok: int
    corrupt: list[str] = field(default_factory=list)
    """Digests with a stored copy that does not hash to them."""
    lost: list[str] = field(default_factory=list)
    """Digests listed by a damaged pack that no copy can serve any more."""
    packs: dict[str, str] = field(default_factory=dict)
    """Damaged pack files or indexes (local stores) -> why."""

    @property
    def clean(self) -> bool:
        return not (self.corrupt or self.lost or self.packs)


def verify_object(backend: Backend, digest: str) -> ObjectInfo:
    """Stream the object through BLAKE3; raise CorruptObject when it does not match."""
    hasher = new_hasher()
    size = 0
    with backend.open(digest) as f:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := f.readinto(view):  # type: ignore[attr-defined]
            hasher.update(view[:n])
            size += n
    actual = str(hasher.hexdigest())
    if actual != digest:
        raise CorruptObject(
            digest, backend.url, expected=f"digest {digest}", actual=f"digest {actual}"
        )
    return ObjectInfo(digest, size)


def verify_objects(
    backend: Backend, digests: Iterable[str], workers: int, progress: Progress = no_progress
) -> VerifyReport:
    """Verify many objects in parallel; ``progress`` advances by one per object."""

    def check(digest: str) -> str | None:
        try:
            verify_object(backend, digest)
            return None
        except CorruptObject:
            return digest
        except ObjectNotFound:  # deleted while we looked: nothing to verify
            return ""
        finally:
            progress(1)

    results = pmap(check, digests, workers)
    corrupt = sorted(d for d in results if d)
    return VerifyReport(ok=sum(1 for d in results if d is None), corrupt=corrupt)
