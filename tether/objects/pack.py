"""Packs: many small objects in one file, so that storing thousands of files makes two files.

Creating a file costs far more than writing its bytes (measured on this project's VM: 20,000
files of 50 KiB took 1.5-5 s as loose objects, 0.4-0.7 s as one file). Inside a batch, a local
store appends small objects to a pack instead: ``packs/pack-<name>.pack`` holds the objects'
bytes back to back, ``packs/pack-<name>.idx`` their digests, offsets and sizes, sorted by
digest. A pack is visible once its index is renamed into place, so a reader sees a whole pack
or none of it; the pack file is renamed first. Objects may be both loose and packed, or in
two packs: the copies are equal by construction.

Index layout (little-endian)::

    b"TETHIDX1" | count: u64 | count x 32-byte digest | count x u64 offset | count x u64 size
    | BLAKE3 of everything before: 32 bytes

A pack starts with ``b"TETHPAK1"``; offsets count from the start of the file.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import operator
import os
import struct
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Iterable, Iterator, Mapping

from tether.objects.errors import CorruptPack, ObjectsNotWritable
from tether.objects.writeback import STEP, start_writeback

PACK_MAGIC = b"TETHPAK1"
INDEX_MAGIC = b"TETHIDX1"
_COUNT = struct.Struct("<Q")
_HEAD = len(INDEX_MAGIC) + _COUNT.size
_SUM = 32

PACK_LIMIT = 256 * 1024 * 1024
"""A pack is closed and a new one started past this many bytes, so that an interrupted batch
keeps what it wrote before its last pack, and no pack file grows without bound."""


def _u64(data: bytes | memoryview) -> array[int]:
    values = array("Q")
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _u64_bytes(values: list[int]) -> bytes:
    packed = array("Q", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _checksum(data: bytes | memoryview) -> bytes:
    import blake3

    return bytes(blake3.blake3(data).digest())


class PackIndex:
    """One pack's index: sorted raw digests with each object's offset and size.

    ``pack_size`` is the size of the pack file when the index was loaded (-1: no pack file);
    ``end`` is where its last object ends. A pack shorter than ``end`` was cut short: the
    objects past its end are lost, the others still read.
    """

    __slots__ = ("digests", "end", "name", "offsets", "pack_path", "pack_size", "sizes")

    def __init__(
        self,
        name: str,
        pack_path: str,
        digests: list[bytes],
        offsets: array[int],
        sizes: array[int],
        pack_size: int = -1,
    ) -> None:
        self.name = name
        self.pack_path = pack_path
        self.digests = digests
        self.offsets = offsets
        self.sizes = sizes
        self.pack_size = pack_size
        self.end = max(map(operator.add, offsets, sizes), default=len(PACK_MAGIC))

    @classmethod
    def load(cls, idx_path: str, pack_path: str, pack_size: int = -1) -> PackIndex:
        """Read and check an index; CorruptPack when its bytes are damaged."""
        with open(idx_path, "rb") as f:
            data = f.read()
        if len(data) < _HEAD + _SUM or not data.startswith(INDEX_MAGIC):
            raise CorruptPack(idx_path, "not a pack index")
        (count,) = _COUNT.unpack_from(data, len(INDEX_MAGIC))
        if len(data) != _HEAD + 48 * count + _SUM:
            raise CorruptPack(idx_path, f"length {len(data)} does not fit {count} objects")
        if _checksum(memoryview(data)[:-_SUM]) != data[-_SUM:]:
            raise CorruptPack(idx_path, "checksum mismatch")
        end = _HEAD + 32 * count
        digests = [data[p : p + 32] for p in range(_HEAD, end, 32)]
        offsets = _u64(memoryview(data)[end : end + 8 * count])
        sizes = _u64(memoryview(data)[end + 8 * count : end + 16 * count])
        name = os.path.basename(idx_path)[: -len(".idx")]
        return cls(name, pack_path, digests, offsets, sizes, pack_size)

    @property
    def whole(self) -> bool:
        """The pack file is there and long enough for every object the index lists."""
        return self.pack_size >= self.end

    def damage(self) -> str | None:
        """Why some of this pack's objects cannot be read, or None."""
        if self.pack_size < 0:
            return "its .pack file is missing"
        if self.pack_size < self.end:
            return f"the .pack file is cut short at {self.pack_size} of {self.end} bytes"
        return None

    def readable(self, i: int) -> bool:
        return self.offsets[i] + self.sizes[i] <= self.pack_size

    def find(self, raw: bytes) -> int:
        """The position of ``raw`` in this index, or -1."""
        i = bisect.bisect_left(self.digests, raw)
        if i < len(self.digests) and self.digests[i] == raw:
            return i
        return -1

    def __len__(self) -> int:
        return len(self.digests)


def index_bytes(rows: list[tuple[bytes, int, int]]) -> bytes:
    """The index of ``rows`` (raw digest, offset, size), sorted and checksummed."""
    rows = sorted(rows)
    body = b"".join(
        [
            INDEX_MAGIC,
            _COUNT.pack(len(rows)),
            b"".join(r[0] for r in rows),
            _u64_bytes([r[1] for r in rows]),
            _u64_bytes([r[2] for r in rows]),
        ]
    )
    return body + _checksum(body)


ORPHAN_AGE_S = 60.0
"""A pack file without an index this old was left by a killed writer (see remove_orphans)."""

RECHECK_S = 0.5
"""How long a look at the packs folder stays fresh for lookups that may miss a new pack."""


def _add_to(
    where: dict[bytes, PackIndex], lost: dict[bytes, PackIndex], indexes: Iterable[PackIndex]
) -> None:
    """Map each readable packed digest to its pack, and each lost one to the pack that lost it."""
    for index in indexes:
        if index.whole:
            where.update(zip(index.digests, itertools.repeat(index)))
            continue
        for i, raw in enumerate(index.digests):
            if index.readable(i):
                where[raw] = index
            else:
                lost.setdefault(raw, index)


class Packs:
    """The packs of one store's ``packs/`` folder, loaded when first needed and re-listed when
    the folder changes (another process committed or removed a pack)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._indexes: dict[str, PackIndex] = {}
        self._where: dict[bytes, PackIndex] = {}  # every readable packed digest -> its pack
        self._lost: dict[bytes, PackIndex] = {}  # digests past the end of a cut-short pack
        self._bad: dict[str, str] = {}  # index path -> why it cannot be read
        self._fds: dict[str, int] = {}
        self._stamp: int | None = -1  # folder mtime when last listed; None: no folder
        self._checked = -RECHECK_S  # time.monotonic() of the last look at the folder
        self._lock = threading.Lock()

    def _folder_stamp(self) -> int | None:
        try:
            return os.stat(self.folder).st_mtime_ns
        except (FileNotFoundError, NotADirectoryError):
            return None

    def refresh(self, *, force: bool = False) -> None:
        """Load packs committed since the last listing; forget removed ones.

        Without ``force`` the folder is listed again only when its mtime changed, and looked
        at no more than once per ``RECHECK_S`` (a batch asks for every object). Two commits
        within one tick of the filesystem's clock can leave it unchanged, so reads that miss
        (and :meth:`contains_all`) force a listing; a dedup check that misses a new pack only
        writes an object twice.
        """
        if not force:
            now = time.monotonic()
            if now - self._checked < RECHECK_S:
                return
            self._checked = now
        stamp = self._folder_stamp()
        if stamp == self._stamp and not force:
            return
        with self._lock:
            try:
                names = {n[:-4] for n in os.listdir(self.folder) if n.endswith(".idx")}
            except (FileNotFoundError, NotADirectoryError):
                names = set()
            indexes: dict[str, PackIndex] = {}
            bad: dict[str, str] = {}
            for name in sorted(names):
                base = os.path.join(self.folder, name)
                try:  # one stat per pack: a missing or cut-short pack blocks only its objects
                    pack_size = os.stat(base + ".pack").st_size
                except OSError:
                    pack_size = -1
                known = self._indexes.get(name)
                if known is not None and known.pack_size == pack_size:
                    indexes[name] = known
                    continue
                try:
                    indexes[name] = PackIndex.load(base + ".idx", base + ".pack", pack_size)
                except FileNotFoundError:
                    continue  # removed while we listed
                except CorruptPack as e:
                    bad[e.path] = e.reason
                except OSError as e:
                    bad[base + ".idx"] = e.strerror or str(e)
            for name in list(self._fds):
                index = indexes.get(name)
                if index is None or index.pack_size < 0:
                    with contextlib.suppress(OSError):
                        os.close(self._fds.pop(name))
            old = self._indexes
            if all(indexes.get(n) is i for n, i in old.items()):  # only new packs: extend
                where, lost = self._where, self._lost
                added = [i for n, i in indexes.items() if n not in old]
            else:
                where, lost, added = {}, {}, list(indexes.values())
            _add_to(where, lost, added)
            self._where = where
            self._lost = lost
            self._bad = bad
            self._indexes = indexes
            self._stamp = stamp

    def damaged(self) -> dict[str, str]:
        """Pack files (or indexes) that lost objects: path -> why (as of the last listing)."""
        out = dict(self._bad)
        for index in self._indexes.values():
            reason = index.damage()
            if reason is not None:
                out[index.pack_path] = reason
        return out

    def why_unreadable(self, digest: str) -> tuple[str, str] | None:
        """For a digest no pack can serve: the damaged pack that held it (or whose index is
        unreadable, so may have held it) and why; None when no pack is damaged."""
        index = self._lost.get(bytes.fromhex(digest))
        if index is not None:
            return index.pack_path, str(index.damage())
        for path, reason in self._bad.items():
            return path, f"{reason}; its objects cannot be listed"
        return None

    def indexes(self) -> list[PackIndex]:
        self.refresh(force=True)
        return list(self._indexes.values())

    def locate(self, digest: str, *, fresh: bool = True) -> tuple[PackIndex, int] | None:
        """The pack holding ``digest`` and its position there, or None (``fresh``: after
        listing the folder again; else only when its mtime changed)."""
        raw = bytes.fromhex(digest)
        index = self._where.get(raw)
        if index is None:
            self.refresh(force=fresh)
            index = self._where.get(raw)
            if index is None:
                return None
        return index, index.find(raw)

    def contains_all(self, digests: set[str], sizes: Mapping[str, int] | None = None) -> set[str]:
        """The digests of ``digests`` that some pack holds (with ``sizes``: with that size)."""
        self.refresh(force=True)
        where = self._where
        if not digests or not where:
            return set()
        if not sizes:
            return {d for d in digests if bytes.fromhex(d) in where}
        out = set()
        for d in digests:
            raw = bytes.fromhex(d)
            index = where.get(raw)
            if index is None:
                continue
            want = sizes.get(d)
            if want is None or index.sizes[index.find(raw)] == want:
                out.add(d)
        return out

    def fd(self, index: PackIndex) -> int:
        """A read-only descriptor of the pack file, kept open for later reads."""
        fd = self._fds.get(index.name)
        if fd is not None:
            return fd
        with self._lock:
            fd = self._fds.get(index.name)
            if fd is None:
                fd = os.open(index.pack_path, os.O_RDONLY)
                self._fds[index.name] = fd
            return fd

    def read(self, index: PackIndex, i: int) -> bytes:
        size = index.sizes[i]
        data = os.pread(self.fd(index), size, index.offsets[i])
        if len(data) != size:
            raise CorruptPack(
                index.pack_path, f"object {index.digests[i].hex()} lies past the file's end"
            )
        return data

    def remove_orphans(self, min_age_s: float = ORPHAN_AGE_S) -> int:
        """Remove ``.pack`` files without an index: a writer killed between its pack's
        rename and its index's (a live one renames the index right after, so an orphan older
        than ``min_age_s`` is a dead writer's). Returns how many."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return 0
        indexed = {n[:-4] for n in names if n.endswith(".idx")}
        cutoff = time.time() - min_age_s
        removed = 0
        for name in names:
            if name.endswith(".pack") and name[:-5] not in indexed:
                path = os.path.join(self.folder, name)
                with contextlib.suppress(OSError):
                    st = os.lstat(path)  # a rename sets ctime: when it was published
                    if max(st.st_ctime, st.st_mtime) < cutoff and not os.path.exists(
                        path[:-5] + ".idx"
                    ):
                        os.unlink(path)
                        removed += 1
        return removed

    def digests(self) -> Iterator[str]:
        for index in self.indexes():
            for raw in index.digests:
                yield raw.hex()

    def forget(self, name: str) -> None:
        """Close and drop a pack that is being removed."""
        with self._lock:
            self._indexes = {n: i for n, i in self._indexes.items() if n != name}
            self._where, self._lost = {}, {}
            _add_to(self._where, self._lost, self._indexes.values())
            fd = self._fds.pop(name, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)


class PackWriter:
    """Appends objects to a new pack in ``tmp_dir``; :meth:`commit` makes it visible."""

    def __init__(self, tmp_dir: str, folder: str, *, fsync: bool, prefix: str = "pack-") -> None:
        self.folder = folder
        self.fsync = fsync
        try:
            self.fd, self.tmp = tempfile.mkstemp(dir=tmp_dir, prefix=prefix)
            os.write(self.fd, PACK_MAGIC)
        except OSError as e:
            raise ObjectsNotWritable(tmp_dir, e.strerror or str(e)) from None
        self.end = len(PACK_MAGIC)
        self.started = 0  # bytes before this offset are on their way to the disk
        self.rows: dict[str, tuple[int, int]] = {}  # digest -> (offset, size)
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        return self.end >= PACK_LIMIT

    def add(self, digest: str, data: bytes | memoryview) -> None:
        with self._lock:
            if digest in self.rows:
                return
            offset = self.end
            view = memoryview(data)
            try:
                while view:
                    n = os.pwrite(self.fd, view, offset + len(data) - len(view))
                    view = view[n:]
            except OSError as e:
                raise ObjectsNotWritable(self.tmp, e.strerror or str(e)) from None
            self.end += len(data)
            self.rows[digest] = (offset, len(data))
            if self.end - self.started >= STEP:  # the disk writes while we read and hash on
                start_writeback(self.fd, self.started, self.end - self.started)
                self.started = self.end

    def size(self, digest: str) -> int | None:
        row = self.rows.get(digest)
        return None if row is None else row[1]

    def read(self, digest: str) -> bytes | None:
        row = self.rows.get(digest)
        if row is None:
            return None
        return os.pread(self.fd, row[1], row[0])

    def seal(self, *, sync: bool) -> list[tuple[str, str]]:
        """Close the pack and write its index beside it (``sync``: flushed to the disk); the
        renames that publish both, pack first (none when the pack holds no object: then
        nothing is left behind)."""
        if not self.rows:
            self.discard()
            return []
        idx = index_bytes([(bytes.fromhex(d), off, n) for d, (off, n) in self.rows.items()])
        base = os.path.join(self.folder, "pack-" + idx[-_SUM:].hex())
        idx_tmp = self.tmp + ".idx"
        try:
            if sync:
                os.fsync(self.fd)
            else:  # the last stretch too: on its way to the disk by the time the batch ends
                start_writeback(self.fd, self.started, self.end - self.started)
            os.close(self.fd)
            self.fd = -1
            os.chmod(self.tmp, 0o444)
            with open(idx_tmp, "xb") as f:
                f.write(idx)
                if sync:
                    f.flush()
                    os.fsync(f.fileno())
            os.chmod(idx_tmp, 0o444)
            os.makedirs(self.folder, exist_ok=True)
        except BaseException as e:
            self.discard()
            with contextlib.suppress(OSError):
                os.unlink(idx_tmp)
            if isinstance(e, OSError):
                raise ObjectsNotWritable(self.folder, e.strerror or str(e)) from None
            raise
        return [(self.tmp, base + ".pack"), (idx_tmp, base + ".idx")]

    def commit(self) -> None:
        """Seal the pack and rename it into ``folder`` (with fsync: durably)."""
        renames = self.seal(sync=self.fsync)
        try:
            for tmp, final in renames:  # the pack is visible once its index is in place
                os.replace(tmp, final)
            if renames and self.fsync:
                dir_fd = os.open(self.folder, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except BaseException as e:
            for tmp, _ in renames:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            if isinstance(e, OSError):
                raise ObjectsNotWritable(self.folder, e.strerror or str(e)) from None
            raise

    def discard(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)
