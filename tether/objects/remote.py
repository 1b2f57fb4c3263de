"""Objects in object storage (S3, GCS, Azure Blob) through an fsspec filesystem.

Keys are ``<root>/ab/cdef…``. An upload goes straight to the final key: a single PUT or the
completion of a multipart upload is atomic, so a reader never sees half an object. On S3 the
SDK sends a checksum of every upload, which the service verifies before it stores the object;
on other services the size is read back after each upload to check that it landed whole.

Many small objects move in one call (``read_many``/``write_many``): fsspec runs the requests
concurrently on its event loop, which keeps hundreds in flight without a thread for each.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, NoReturn

from tether.errors import StorageError, TetherError
from tether.objects.copy import copy_hashing
from tether.objects.digest import is_digest
from tether.objects.errors import CorruptObject, ObjectNotFound, ObjectsNotWritable, SourceChanged

_LIST_THRESHOLD = 8
"""Check a fan-out folder by one listing when this many digests fall in it, else HEAD each."""

LIST_PAGE = 1000
"""Keys per page of a listing (S3's ListObjectsV2 maximum)."""


def listing_pages(in_one_folder: int) -> int:
    """Requests to list a whole store that holds ``in_one_folder`` objects in one of its 256
    fan-out folders (digests are uniform, so about 256 times as many in all)."""
    return in_one_folder * 256 // LIST_PAGE + 1


def translate(
    e: BaseException, url: str, *, digest: str | None = None, write: bool = False
) -> NoReturn:
    """Re-raise an fsspec/botocore/OS exception as the matching Tether error."""
    if isinstance(e, TetherError):
        raise e
    if isinstance(e, FileNotFoundError) and digest is not None and not write:
        raise ObjectNotFound(digest, url) from e
    reason = f"{type(e).__name__}: {e}"
    if write or isinstance(e, PermissionError):
        raise ObjectsNotWritable(url, reason) from e
    raise StorageError(f"object storage {url} failed: {reason}") from e


class FsspecBackend:
    """A prefix in a bucket of any fsspec filesystem."""

    def __init__(self, fs: Any, root: str, url: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        # s3fs: one HEAD request answers existence; info() adds a LIST for absent keys.
        s3 = fs.protocol[0] in ("s3", "s3a")
        self._head = getattr(fs, "call_s3", None) if s3 else None
        # botocore checksums every PutObject/UploadPart (CRC32 by default since 1.36) and S3
        # rejects an upload whose bytes do not match: a HEAD after each PUT adds nothing
        self._checked_by_service = s3

    def key(self, digest: str) -> str:
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def size(self, digest: str) -> int | None:
        key = self.key(digest)
        try:
            if self._head is not None:
                bucket, _, name = key.partition("/")
                return int(self._head("head_object", Bucket=bucket, Key=name)["ContentLength"])
            info = self.fs.info(key)
            return None if info.get("type") == "directory" else int(info["size"])
        except FileNotFoundError:
            return None
        except Exception as e:
            translate(e, self.url)

    def _present(self, prefix: str) -> set[str]:
        try:
            names = self.fs.ls(f"{self.root}/{prefix}", detail=False, refresh=True)
        except FileNotFoundError:
            return set()
        return {prefix + n.rsplit("/", 1)[-1] for n in names}

    def stored(self, digest: str, size: int) -> bool:
        return self.size(digest) == size

    def missing(
        self, digests: Iterable[str], workers: int, sizes: Mapping[str, int] | None = None
    ) -> set[str]:
        """Per fan-out folder, one listing when many digests fall in it, else a HEAD each; or,
        when the store looks small enough, one listing of everything.

        The store's size is estimated from one folder it lists anyway (digests are uniform):
        a store of N objects lists whole in N / 1,000 pages, so pushing to a new or small
        remote costs one or a few requests instead of hundreds.
        """
        by_prefix: dict[str, list[str]] = {}
        for d in set(digests):
            by_prefix.setdefault(d[:2], []).append(d)
        if not by_prefix:
            return set()
        sample = max(by_prefix, key=lambda p: len(by_prefix[p]))
        try:
            in_sample = self._present(sample)
        except Exception as e:
            translate(e, self.url)
        absent = {d for d in by_prefix.pop(sample) if d not in in_sample}
        listed = [p for p, ds in by_prefix.items() if len(ds) >= _LIST_THRESHOLD]
        single = [d for p, ds in by_prefix.items() if len(ds) < _LIST_THRESHOLD for d in ds]
        if listing_pages(len(in_sample)) < len(listed) + len(single):
            present = set(self.list())
            return absent | {d for ds in by_prefix.values() for d in ds if d not in present}
        try:
            with ThreadPoolExecutor(max(1, workers)) as pool:
                for prefix, present in zip(listed, pool.map(self._present, listed), strict=True):
                    absent.update(d for d in by_prefix[prefix] if d not in present)
                for d, size in zip(single, pool.map(self.size, single), strict=True):
                    if size is None:
                        absent.add(d)
        except Exception as e:
            translate(e, self.url)
        return absent

    def open(self, digest: str) -> BinaryIO:
        try:
            return self.fs.open(self.key(digest), "rb", block_size=8 * 1024 * 1024)
        except Exception as e:
            translate(e, self.url, digest=digest)

    def list(self) -> Iterator[str]:
        try:
            keys = self.fs.find(self.root)
        except FileNotFoundError:
            return
        except Exception as e:
            translate(e, self.url)
        for key in sorted(keys):
            parts = key.rsplit("/", 2)
            if len(parts) == 3 and is_digest(parts[1] + parts[2]):
                yield parts[1] + parts[2]

    def _check(self, digest: str, size: int) -> None:
        if self._checked_by_service:
            return
        stored = self.size(digest)
        if stored != size:
            with contextlib.suppress(Exception):
                self.fs.rm_file(self.key(digest))
            raise CorruptObject(
                digest, self.url, expected=f"size {size} after upload", actual=f"size {stored}"
            )

    def write_bytes(self, digest: str, data: bytes | memoryview) -> None:
        try:
            self.fs.pipe_file(self.key(digest), bytes(data))
        except Exception as e:
            translate(e, self.url, write=True)
        self._check(digest, len(data))

    def read_many(self, digests: Sequence[str]) -> dict[str, bytes]:
        keys = {self.key(d): d for d in digests}
        if not keys:
            return {}
        try:
            got = self.fs.cat(list(keys), on_error="return")
        except Exception as e:
            translate(e, self.url)
        out = {}
        for key, digest in keys.items():
            value = got.get(key, FileNotFoundError(key))
            if isinstance(value, BaseException):
                translate(value, self.url, digest=digest)
            out[digest] = bytes(value)
        return out

    def write_many(self, objects: Mapping[str, bytes]) -> None:
        if not objects:
            return
        try:
            self.fs.pipe({self.key(d): bytes(data) for d, data in objects.items()})
        except Exception as e:
            translate(e, self.url, write=True)
        for digest, data in objects.items():
            self._check(digest, len(data))

    def write_file(self, digest: str, path: str, st: os.stat_result) -> None:
        try:
            self.fs.put_file(path, self.key(digest))
        except FileNotFoundError as e:
            if not os.path.exists(path):
                raise SourceChanged(path) from e
            translate(e, self.url, write=True)
        except Exception as e:
            translate(e, self.url, write=True)
        after = os.stat(path)
        if after.st_size != st.st_size or after.st_mtime_ns != st.st_mtime_ns:
            self.delete(digest)
            raise SourceChanged(path)
        self._check(digest, st.st_size)

    def write_stream(self, digest: str, reader: BinaryIO, source: str) -> int:
        # Spool to a local temporary file so that only verified bytes are uploaded.
        with tempfile.NamedTemporaryFile(prefix="tether-") as spool:
            actual, size = copy_hashing(reader, spool.fileno())
            if actual != digest:
                raise CorruptObject(
                    digest, source, expected=f"digest {digest}", actual=f"digest {actual}"
                )
            spool.flush()
            self.write_file(digest, spool.name, os.stat(spool.name))
        return size

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        yield

    def delete(self, digest: str) -> None:
        try:
            self.fs.rm_file(self.key(digest))
        except FileNotFoundError:
            return  # already gone: deleting is idempotent
        except Exception as e:
            translate(e, self.url, write=True)
