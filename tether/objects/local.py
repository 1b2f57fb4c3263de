"""Objects in a local folder: loose as ``<root>/ab/cdef…``, or packed in ``<root>/packs/``.

Every write is atomic (a temporary file in ``<root>/tmp/``, then a rename). With ``fsync`` the
object file and its folder are also flushed to the disk before the put returns, so the object
survives a power loss too (setting ``objects.fsync``; like git's ``core.fsync``).

Inside :meth:`LocalBackend.batch`, objects up to ``PACKABLE`` bytes go into a pack
(:mod:`tether.objects.pack`) that becomes visible to other processes when the batch ends (or
when the pack fills up); this process sees them at once. Reads look for a loose file first,
then in the packs.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import BinaryIO

from tether.objects.base import LocalCapabilities
from tether.objects.copy import SourceReadError, copy_fd, copy_hashing, copy_hashing_fd
from tether.objects.digest import SMALL, is_digest
from tether.objects.errors import (
    CorruptObject,
    LostObject,
    ObjectNotFound,
    ObjectsNotWritable,
    SourceChanged,
    UnreadableSource,
)
from tether.objects.owner import owner_token, sweep
from tether.objects.pack import PackIndex, Packs, PackWriter
from tether.objects.types import ObjectInfo, Progress, no_progress

_FANOUT = [f"{i:02x}" for i in range(256)]

PACKABLE = SMALL
"""Objects up to this size are packed when written inside a batch."""

DIRECT_MIN = 64 * 1024 * 1024
"""Objects at least this big are written with O_DIRECT where the filesystem allows it.

Measured on a 2-core VM, 2 GiB: buffered writes into freshly allocated page cache ran at 200-600
MB/s, O_DIRECT at 1.0-1.3 GB/s. Smaller objects stay in the page cache, where the next read of
them (a get, a verify) finds them.
"""


def _syncfs(fd: int) -> None:
    """Flush every dirty file of the filesystem holding ``fd`` (one call for a whole batch)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(fd) == 0:
            return
    except (OSError, AttributeError):
        pass  # no syncfs in this libc: the whole-system sync below does the job
    os.sync()


def _fsync_dir(path: str) -> None:
    """Flush a folder's entries (a rename into it) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns and a.st_ino == b.st_ino


class LocalBackend(LocalCapabilities):
    """A folder on a local (or mounted) filesystem."""

    def __init__(self, root: str, url: str, *, fsync: bool = False) -> None:
        self.root = root
        self._base = os.path.join(root, "")
        self.url = url
        self.fsync = fsync
        self._tmp = os.path.join(root, "tmp")
        self._owners = os.path.join(root, "owners")  # lock files of live writers (owner.py)
        self._ready = False
        self._swept: int | None = None  # temporaries of killed writers removed, once swept
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str]] | None = None  # (temporary, final) paths
        self.packs = Packs(os.path.join(root, "packs"))
        self._in_batch = False
        self._writer: PackWriter | None = None
        self._writer_lock = threading.Lock()
        self._bad: set[str] | None = None  # known damaged copies (damaged.list), loaded once
        self._fixed: set[str] = set()  # of those, stored again by this instance

    # -- layout ---------------------------------------------------------------------------

    def path(self, digest: str) -> str:
        return f"{self._base}{digest[:2]}{os.sep}{digest[2:]}"  # cheaper than os.path.join

    def _prepare(self) -> None:
        """Create the root, ``tmp/`` and the 256 fan-out folders, once per instance."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                os.makedirs(self._tmp, exist_ok=True)
                for name in _FANOUT:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(os.path.join(self.root, name))
                if not os.access(self._tmp, os.W_OK):
                    raise PermissionError(13, "permission denied")
                owner_token(self._owners)
            except OSError as e:
                raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None
            self._sweep_once()
            self._ready = True

    def sweep_temporaries(self) -> int:
        """Remove what killed writers left in ``tmp/`` now; return how many files."""
        earlier = self._swept
        self._prepare()  # sweeps, when nothing did before
        now = self._swept or 0 if earlier is None else 0
        return now + sweep(self._tmp, self._owners)

    def _sweep_once(self) -> None:
        """Remove what killed writers left behind, once per instance: at the first write, or
        at the first ``missing`` (a command whose objects are all there writes nothing)."""
        if self._swept is None:
            self._swept = sweep(self._tmp, self._owners) + self.packs.remove_orphans()

    def _temp(self) -> tuple[int, str]:
        self._prepare()
        try:
            # asked each time: a forked child writes under a token of its own
            return tempfile.mkstemp(dir=self._tmp, prefix=f"put-{owner_token(self._owners)}-")
        except OSError as e:
            raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None

    def _commit(self, fd: int, tmp: str, digest: str) -> None:
        """Rename ``tmp`` into place; with fsync, flush it first (or both at the batch's end)."""
        pending = self._pending
        try:
            os.fchmod(fd, 0o444)  # objects never change; guard against accidental edits
            if pending is None and self.fsync:
                os.fsync(fd)
            os.close(fd)
            fd = -1
            if pending is not None:
                with self._lock:
                    pending.append((tmp, self.path(digest)))
            else:
                final = self.path(digest)
                os.replace(tmp, final)
                if self.fsync:
                    _fsync_dir(os.path.dirname(final))
            bad = self._bad
            if bad and digest in bad:  # a damaged copy replaced
                bad.discard(digest)
                self._fixed.add(digest)
                self._save_fixed()
        except BaseException as e:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None
            raise

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Write many objects fast: small ones into packs, and with fsync two filesystem syncs
        for all loose ones rather than one fsync per object.

        Packed objects become visible to other processes when the batch ends. With fsync, one
        sync before the loose objects' renames (their bytes), one after (the folders' entries);
        without it each loose object is renamed into place when written. A batch that raises
        leaves no pack behind but the ones it had filled and committed.
        """
        if self._in_batch:  # nested: the outer batch commits
            yield
            return
        pending: list[tuple[str, str]] | None = [] if self.fsync else None
        self._pending = pending
        self._in_batch = True
        try:
            yield
        except BaseException:
            self._in_batch = False
            self._pending = None
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.discard()
            for tmp, _ in pending or []:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise
        self._in_batch = False
        self._pending = None
        with self._writer_lock:
            writer, self._writer = self._writer, None
            if writer is not None and pending is not None:
                # published by the batch's renames, between its two filesystem syncs
                pending[:0] = writer.seal(sync=False)
            elif writer is not None:
                self._commit_pack(writer)
        if pending:
            self._rename_pending(pending)
            self.packs.refresh(force=True)
        self._save_fixed()

    def _rename_pending(self, pending: list[tuple[str, str]]) -> None:
        done = 0
        try:
            fd = os.open(self._tmp, os.O_RDONLY)
            try:
                _syncfs(fd)
                for tmp, final in pending:
                    os.replace(tmp, final)
                    done += 1
                _syncfs(fd)
            finally:
                os.close(fd)
        except BaseException as e:
            for tmp, _ in pending[done:]:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            if isinstance(e, OSError):
                raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None
            raise

    def _commit_pack(self, writer: PackWriter) -> None:
        writer.commit()
        self.packs.refresh(force=True)

    def _pack_writer(self) -> PackWriter:
        self._prepare()
        try:
            token = owner_token(self._owners)
        except OSError as e:
            raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None
        return PackWriter(self._tmp, self.packs.folder, fsync=self.fsync, prefix=f"pack-{token}-")

    def _pack(self, digest: str, data: bytes | memoryview) -> None:
        """Append to the batch's pack; a full pack is committed and a new one started.

        Under one lock, so that no thread writes to (or reads from) a pack being committed,
        and a reader finds each object either in the open pack or in a committed one.
        """
        with self._writer_lock:
            writer = self._writer
            if writer is None:
                writer = self._writer = self._pack_writer()
            writer.add(digest, data)
            if writer.full:
                self._commit_pack(writer)
                self._writer = None

    # -- damaged copies -------------------------------------------------------------------

    @property
    def damaged_list(self) -> str:
        """Digests whose stored copy ``tether objects verify`` found damaged, one a line: puts
        store them again, ``tether objects repair`` drops the damaged copies."""
        return os.path.join(self.root, "damaged.list")

    def known_bad(self) -> set[str]:
        bad = self._bad
        if bad is None:
            try:
                with open(self.damaged_list, encoding="ascii") as f:
                    bad = {line.strip() for line in f if is_digest(line.strip())}
            except (OSError, UnicodeDecodeError):
                bad = set()
            self._bad = bad
        return bad

    def set_known_bad(self, digests: Iterable[str]) -> None:
        """Replace the list of damaged copies (verify writes what it found, repair clears)."""
        from pathlib import Path

        from tether.config.atomic import write_bytes_atomic

        bad = set(digests)
        path = self.damaged_list
        try:
            if bad:
                text = "".join(d + "\n" for d in sorted(bad))
                write_bytes_atomic(Path(path), text.encode("ascii"), durable=self.fsync)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        except OSError as e:
            raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None
        self._bad = bad
        self._fixed.clear()

    def _save_fixed(self) -> None:
        """Drop the damaged copies stored again from the list (once per batch)."""
        fixed = self._fixed
        if not fixed or self._in_batch:
            return
        self._bad = None  # re-read: another process may have changed it
        self.set_known_bad(self.known_bad() - fixed)

    def stored(self, digest: str, size: int) -> bool:
        """The object is stored whole: present with ``size`` bytes, in no damaged copy we know
        of. A loose copy of another size is damaged: the next write replaces it."""
        bad = self.known_bad()
        if digest in bad:
            return False
        have = self.size(digest)
        if have is None or have == size:
            return have is not None
        bad.add(digest)  # in memory: writes go loose, replacing this copy
        return False

    # -- reads ----------------------------------------------------------------------------

    def size(self, digest: str) -> int | None:
        try:  # not contextlib.suppress: asked once per object put, where its cost shows
            return os.stat(self.path(digest)).st_size
        except (FileNotFoundError, NotADirectoryError):
            pass
        writer = self._writer
        if writer is not None and (n := writer.size(digest)) is not None:
            return n
        # inside a batch puts ask this for every object: a pack another process committed a
        # moment ago may be missed, which only stores the object twice
        found = self.packs.locate(digest, fresh=not self._in_batch)
        return None if found is None else found[0].sizes[found[1]]

    def _read_packed(self, digest: str) -> bytes:
        """The bytes of a packed object (or one in the batch's pack); ObjectNotFound if none."""
        with self._writer_lock:
            writer = self._writer
            if writer is not None and (data := writer.read(digest)) is not None:
                return data
        for _ in range(2):
            found = self.packs.locate(digest)
            if found is None:
                break
            try:
                return self.packs.read(*found)
            except FileNotFoundError:  # another process rewrote that pack (delete): look again
                self.packs.refresh(force=True)
        why = self.packs.why_unreadable(digest)
        if why is not None:
            raise LostObject(digest, self.url, *why)
        raise ObjectNotFound(digest, self.url)

    def packed(self, digest: str) -> tuple[int, int, int] | None:
        """``(fd, offset, size)`` of a committed packed object (for kernel copies), or None.

        Looks in the packs known since the last listing (``missing`` lists them again): a miss
        is cheap, for callers that fall back to the loose file."""
        found = self.packs.locate(digest, fresh=False)
        if found is None:
            return None
        index, i = found
        try:
            return self.packs.fd(index), index.offsets[i], index.sizes[i]
        except FileNotFoundError:  # another process rewrote that pack: the caller falls back
            self.packs.refresh(force=True)
            return None

    def missing(
        self, digests: Iterable[str], workers: int, sizes: Mapping[str, int] | None = None
    ) -> set[str]:
        """Also counts as missing: a copy listed in ``damaged.list``, and (with ``sizes``) one
        of another size, where that costs no extra call: every packed copy (sizes are in
        memory) and loose copies when few digests are asked (each is looked at anyway)."""
        self._sweep_once()
        asked = set(digests)
        bad = self.known_bad() & asked
        wanted = self._not_packed(asked - bad, sizes)  # in memory: most small objects end here
        if len(wanted) < 2048:
            return bad | {d for d in wanted if not self._loose_ok(d, sizes)}
        # Many digests: one listing per fan-out folder beats one stat per digest.
        by_prefix: dict[str, set[str]] = {}
        for d in wanted:
            by_prefix.setdefault(d[:2], set()).add(d[2:])
        absent: set[str] = set()
        for prefix, names in by_prefix.items():
            try:
                present = set(os.listdir(os.path.join(self.root, prefix)))
            except (FileNotFoundError, NotADirectoryError):
                present = set()
            absent.update(prefix + n for n in names - present)
        return absent | bad

    def _loose_ok(self, digest: str, sizes: Mapping[str, int] | None) -> bool:
        try:
            st = os.stat(self.path(digest))
        except (FileNotFoundError, NotADirectoryError):
            return False
        if sizes is None or sizes.get(digest, st.st_size) == st.st_size:
            return True
        self.known_bad().add(digest)  # damaged: the next write replaces it, not packs it
        return False

    def _not_packed(self, digests: set[str], sizes: Mapping[str, int] | None = None) -> set[str]:
        writer = self._writer
        if writer is not None:
            digests = {d for d in digests if writer.size(d) is None}
        return digests - self.packs.contains_all(digests, sizes)

    def open(self, digest: str) -> BinaryIO:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            return open(self.path(digest), "rb")
        return io.BytesIO(self._read_packed(digest))

    def local_path(self, digest: str) -> str | None:
        """The loose file of the object; None when it is packed or not stored."""
        path = self.path(digest)
        return path if os.path.exists(path) else None

    def loose_path(self, digest: str) -> str:
        """The loose file of the object, unpacking it first when it is only packed (for
        hard links and symlinks, which need a file of its own)."""
        path = self.path(digest)
        if not os.path.exists(path):
            self._write_loose(digest, self._read_packed(digest))
        return path

    def loose(self) -> Iterator[str]:
        """The digests of the loose files."""
        for prefix in _FANOUT:
            try:
                names = os.listdir(os.path.join(self.root, prefix))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for name in sorted(names):
                if is_digest(prefix + name):
                    yield prefix + name

    def list(self) -> Iterator[str]:
        seen = set()
        for digest in self.loose():
            seen.add(digest)
            yield digest
        for digest in self.packs.digests():
            if digest not in seen:
                seen.add(digest)
                yield digest

    # -- writes ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _temp_file(self) -> Iterator[tuple[int, str]]:
        """An open temporary file for an object; closed and removed when the block raises
        (an OSError becomes ObjectsNotWritable). The caller commits or discards it after."""
        fd, tmp = self._temp()
        try:
            yield fd, tmp
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None
            raise

    def write_bytes(self, digest: str, data: bytes | memoryview) -> None:
        bad = self._bad
        if self._in_batch and len(data) <= PACKABLE and not (bad and digest in bad):
            self._pack(digest, data)
        else:  # a damaged loose copy would hide a packed one: replace it
            self._write_loose(digest, data)

    def _write_loose(self, digest: str, data: bytes | memoryview) -> None:
        with self._temp_file() as (fd, tmp):
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        self._commit(fd, tmp, digest)

    def read_many(self, digests: Sequence[str]) -> dict[str, bytes]:
        out = {}
        for digest in digests:
            try:
                with open(self.path(digest), "rb") as f:
                    out[digest] = f.read()
            except FileNotFoundError:
                out[digest] = self._read_packed(digest)
        return out

    def write_many(self, objects: Mapping[str, bytes]) -> None:
        for digest, data in objects.items():
            self.write_bytes(digest, data)

    def write_file(self, digest: str, path: str, st: os.stat_result) -> None:
        try:
            src = os.open(path, os.O_RDONLY)
        except OSError:
            raise SourceChanged(path) from None
        try:
            with self._temp_file() as (fd, tmp):
                copied = copy_fd(src, fd, st.st_size)
                if copied != st.st_size or not _same(st, os.fstat(src)):
                    raise SourceChanged(path)
        finally:
            os.close(src)
        self._commit(fd, tmp, digest)

    def put_fd(
        self, src: int, path: str, st: os.stat_result, progress: Progress = no_progress
    ) -> ObjectInfo:
        """Store the open file ``src`` (stat ``st``) in a single pass: read, hash and write.

        The bytes are written to a temporary file while they are hashed; once the digest is
        known the file is renamed into place, or dropped when the object is already stored.
        Raises SourceChanged when the file's size or mtime changed meanwhile.
        """
        with self._temp_file() as (fd, tmp):
            try:
                digest, size = copy_hashing_fd(
                    src, fd, direct=st.st_size >= DIRECT_MIN, progress=progress
                )
            except SourceReadError as e:
                raise UnreadableSource(path, e.error.strerror or str(e)) from None
            if size != st.st_size or not _same(st, os.fstat(src)):
                raise SourceChanged(path)
            stored = self.stored(digest, size)
        if stored:  # already stored: the copy is not needed
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        else:
            self._commit(fd, tmp, digest)
        return ObjectInfo(digest, size)

    def write_stream(self, digest: str, reader: BinaryIO, source: str) -> int:
        with self._temp_file() as (fd, tmp):
            actual, size = copy_hashing(reader, fd)
            if actual != digest:
                raise CorruptObject(
                    digest, source, expected=f"digest {digest}", actual=f"digest {actual}"
                )
        self._commit(fd, tmp, digest)
        return size

    def delete(self, digest: str) -> None:
        """Remove the loose file and every packed copy (a pack holding it is rewritten
        without it, then swapped in)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))
        raw = bytes.fromhex(digest)
        for index in self.packs.indexes():
            if index.find(raw) >= 0:
                self.rewrite_pack_without(index, {raw})

    def rewrite_pack_without(self, index: PackIndex, drop: set[bytes]) -> None:
        """Replace a pack with one holding its objects but ``drop`` (raw digests), or remove
        it when none is left; the new pack is published before the old one goes."""
        keep = [k for k in range(len(index)) if index.digests[k] not in drop]
        if keep:
            writer = self._pack_writer()
            try:
                for k in keep:
                    writer.add(index.digests[k].hex(), self.packs.read(index, k))
            except BaseException:
                writer.discard()
                raise
            writer.commit()
        self.packs.forget(index.name)
        try:
            # the index first: the pack is gone from then on; either may be gone already
            for path in (os.path.join(self.packs.folder, index.name + ".idx"), index.pack_path):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        except OSError as e:
            raise ObjectsNotWritable(self.root, e.strerror or str(e)) from None
