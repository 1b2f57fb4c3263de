"""ObjectStore: content-addressed blobs and trees on any backend."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, BinaryIO

from tether.errors import InvalidInput
from tether.objects.backends import open_backend, parse_url
from tether.objects.base import LocalCapabilities
from tether.objects.copy import copy_hashing
from tether.objects.digest import check_digest, hash_bytes
from tether.objects.errors import CorruptObject, NotATree, ObjectNotFound
from tether.objects.ingest import ingest, ingest_many
from tether.objects.parallel import default_workers, pmap
from tether.objects.reader import VerifyingReader
from tether.objects.tree import Tree, TreeEntry, normalise_mode
from tether.objects.types import ObjectInfo, Progress, TreeInfo, no_progress
from tether.objects.verify import VerifyReport, verify_object, verify_objects
from tether.objects.walk import scan

if TYPE_CHECKING:
    from tether.objects.fsck import RepairReport

PathLike = str | os.PathLike[str]


TREE_CACHE_SIZE = 8


class ObjectStore:
    """Objects named by their BLAKE3 digest, in a folder or a bucket.

    ``url`` is a folder (or ``file://``), ``s3://bucket/prefix``, ``gs://…`` or ``az://…``;
    ``storage_options`` go to the fsspec filesystem (for S3: ``endpoint_url``, ``key``,
    ``secret``…); ``workers`` bounds parallel hashing and transfers. ``fsync`` (local folders)
    flushes each object to the disk before a put returns; writes are atomic either way.

    ``progress`` callbacks may be called from worker threads.
    """

    def __init__(
        self,
        url: str,
        *,
        storage_options: dict[str, Any] | None = None,
        workers: int | None = None,
        fsync: bool = False,
    ) -> None:
        self.url = url
        self.storage_options = dict(storage_options or {})
        self.workers = workers if workers and workers > 0 else default_workers()
        self.fsync = fsync
        self.backend = open_backend(url, self.storage_options, fsync=fsync)
        self.local: LocalCapabilities | None = (
            self.backend if isinstance(self.backend, LocalCapabilities) else None
        )
        """What only a local folder can do (loose paths, packs, one-pass puts), or None."""
        # parsed trees by digest: immutable, and big ones take a while to parse
        self._trees: OrderedDict[str, Tree] = OrderedDict()
        self._trees_lock = threading.Lock()

    @property
    def is_local(self) -> bool:
        """Objects are files on a local (or mounted) filesystem, not behind a network API."""
        return self.local is not None

    @classmethod
    def from_settings(cls, settings: Any) -> ObjectStore:
        """The store named by ``objects.url`` (``objects.endpoint_url``, ``objects.fsync``)."""
        url = settings.objects_url
        options: dict[str, Any] = {}
        endpoint = settings["objects.endpoint_url"]
        if endpoint and parse_url(url).protocol == "s3":
            options["endpoint_url"] = endpoint
        return cls(
            url,
            storage_options=options,
            workers=settings.objects_workers,
            fsync=bool(settings["objects.fsync"]),
        )

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"

    # -- writing --------------------------------------------------------------------------

    def put_bytes(self, data: bytes | memoryview, *, digest: str | None = None) -> ObjectInfo:
        """Store ``data``; a digest already stored (whole) is not written again.

        ``digest``: what the caller got hashing these very bytes (saves hashing them twice).
        """
        digest = digest or hash_bytes(data)
        if not self.backend.stored(digest, len(data)):
            self.backend.write_bytes(digest, data)
        return ObjectInfo(digest, len(data))

    def put_file(self, path: PathLike, *, progress: Progress | None = None) -> ObjectInfo:
        """Store a file, streamed; ``progress`` advances by bytes hashed.

        In a local folder the file is read once: hashed and written at the same time.
        Elsewhere it is hashed first and uploaded only when the object is missing.
        """
        return ingest(os.fspath(path), self, progress=progress or no_progress)[0]

    def put_tree(self, folder: PathLike, *, progress: Progress | None = None) -> TreeInfo:
        """Store every file under ``folder`` in parallel, then its tree manifest.

        ``progress`` advances by bytes of files stored.
        """
        top = os.fspath(folder)
        if not os.path.isdir(top):
            raise InvalidInput(f"{top} is not a folder; put_file stores a single file")
        files = scan(top, what="folder")
        with self.batch():
            got = ingest_many(
                [f.source for f in files],
                self,
                expect=[f.stat for f in files],
                workers=self.workers,
                progress=progress or no_progress,
            )
        tree = Tree.from_entries(
            TreeEntry(f.path, info.digest, info.size, normalise_mode(st.st_mode))
            for f, (info, st) in zip(files, got, strict=True)
        )
        info = self.put_bytes(tree.to_bytes())
        return TreeInfo(info.digest, tree.size, tree.count)

    def batch(self) -> AbstractContextManager[None]:
        """Group many writes: a local folder packs small objects and syncs once at the end
        (see ``LocalBackend.batch``); object storage writes each at once."""
        return self.backend.batch()

    # -- reading --------------------------------------------------------------------------

    def get_bytes(self, digest: str) -> bytes:
        """The object's bytes, checked against the digest."""
        check_digest(digest)
        with self.backend.open(digest) as f:
            data = f.read()
        actual = hash_bytes(data)
        if actual != digest:
            raise CorruptObject(
                digest, self.url, expected=f"digest {digest}", actual=f"digest {actual}"
            )
        return data

    def open(self, digest: str) -> BinaryIO:
        """A streaming reader; reading to the end raises CorruptObject on a mismatch."""
        check_digest(digest)
        raw = VerifyingReader(self.backend.open(digest), digest, self.url)
        return io.BufferedReader(raw, buffer_size=1024 * 1024)

    def open_unchecked(self, digest: str) -> BinaryIO:
        """The stored bytes as they are, for a caller that hashes what it copies anyway."""
        return self.backend.open(check_digest(digest))

    def get_file(self, digest: str, dest: PathLike) -> None:
        """Write the object to ``dest`` atomically; verified while copying."""
        check_digest(digest)
        self._get_file(digest, os.fspath(dest), 0o644, no_progress)

    def _get_file(self, digest: str, dest: str, mode: int, progress: Progress) -> None:
        folder, name = os.path.split(os.path.abspath(dest))
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tether-tmp")
        except OSError as e:
            raise InvalidInput(f"cannot write {dest}: {e.strerror}") from None
        try:
            with self.backend.open(digest) as reader:
                actual, _ = copy_hashing(reader, fd, progress)
            if actual != digest:
                raise CorruptObject(
                    digest, self.url, expected=f"digest {digest}", actual=f"digest {actual}"
                )
            os.fchmod(fd, mode)
            os.close(fd)
            fd = -1
            os.replace(tmp, dest)
        except BaseException as e:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise InvalidInput(f"cannot write {dest}: {e.strerror or e}") from None
            raise

    def read_tree(self, digest: str) -> Tree:
        """The tree manifest stored under ``digest`` (the last few read are kept parsed)."""
        with self._trees_lock:
            if digest in self._trees:
                self._trees.move_to_end(digest)
                return self._trees[digest]
        data = self.get_bytes(digest)
        try:
            tree = Tree.from_bytes(data)
        except InvalidInput as e:
            raise NotATree(digest, str(e)) from None
        with self._trees_lock:
            self._trees[digest] = tree
            while len(self._trees) > TREE_CACHE_SIZE:
                self._trees.popitem(last=False)
        return tree

    def get_tree(
        self, digest: str, dest_folder: PathLike, *, progress: Progress | None = None
    ) -> None:
        """Write the tree's files under ``dest_folder`` in parallel (bytes as progress).

        Every file is verified while written into a temporary folder beside ``dest_folder``,
        then moved into place: a corrupt object (CorruptObject) leaves nothing behind. A tree
        with a ``.git`` or ``.tether`` part is refused before anything is written.
        """
        tree = self.read_tree(digest)
        for e in tree.entries:
            parts = {p.rstrip(". ").casefold() for p in e.path.split("/")}
            if parts & {".git", ".tether"}:
                raise InvalidInput(
                    f"tree {digest} has the file {e.path!r} inside a .git or .tether folder; "
                    "refusing to write it anywhere (check where that tree came from)"
                )
        root = os.path.abspath(os.fspath(dest_folder))
        parent, name = os.path.split(root)
        try:
            os.makedirs(parent, exist_ok=True)
            stage = tempfile.mkdtemp(dir=parent, prefix=f".{name}.tether-get-")
            for f in sorted({os.path.dirname(os.path.join(stage, e.path)) for e in tree.entries}):
                os.makedirs(f, exist_ok=True)
        except OSError as err:
            raise InvalidInput(f"cannot create folders under {root}: {err.strerror}") from None
        report = progress or no_progress
        try:

            def get(e: TreeEntry) -> None:
                try:
                    self._get_file(e.digest, os.path.join(stage, e.path), e.mode, report)
                except CorruptObject as err:  # name the file it was for
                    raise CorruptObject(
                        err.digest,
                        err.url,
                        expected=err.expected,
                        actual=f"{err.actual}, so {os.path.join(root, e.path)} was not written",
                    ) from None

            pmap(get, tree.entries, self.workers)
            os.chmod(stage, 0o755)
            with contextlib.suppress(OSError):
                os.rmdir(root)  # an empty folder (a fresh temporary one, say) is replaced
            if not os.path.lexists(root):
                os.rename(stage, root)
            else:  # into an existing folder: file by file, all of them already verified
                for e in tree.entries:
                    target = os.path.join(root, e.path)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    os.replace(os.path.join(stage, e.path), target)
        except OSError as err:
            raise InvalidInput(f"cannot write under {root}: {err.strerror or err}") from None
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    # -- inspecting -----------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        return self.backend.size(check_digest(digest)) is not None

    def missing(self, digests: Iterable[str] | Mapping[str, int]) -> set[str]:
        """The digests that are not stored, checked in batches and in parallel.

        Given ``{digest: size}``, a stored copy of another size counts as missing where the
        backend knows sizes at no extra cost; so do copies ``verify`` found damaged.
        """
        wanted = [check_digest(d) for d in digests]
        sizes = digests if isinstance(digests, Mapping) else None
        return self.backend.missing(wanted, self.workers, sizes)

    def info(self, digest: str) -> ObjectInfo:
        size = self.backend.size(check_digest(digest))
        if size is None:
            raise ObjectNotFound(digest, self.url)
        return ObjectInfo(digest, size)

    def list(self) -> Iterator[str]:
        """Every stored digest."""
        return self.backend.list()

    def verify(self, digest: str) -> ObjectInfo:
        """Re-hash one object; raise CorruptObject when its bytes changed."""
        return verify_object(self.backend, check_digest(digest))

    def verify_all(self, *, progress: Progress | None = None) -> VerifyReport:
        """Re-hash every object in parallel; ``progress`` advances by one per object.

        In a local folder every copy is checked (loose and packed), damaged packs are named,
        and the damaged copies are noted so that puts store those objects again.
        """
        report = progress or no_progress
        if self.local is None:
            return verify_objects(self.backend, self.list(), self.workers, report)
        from tether.objects.fsck import check

        backend: Any = self.backend
        damage = check(backend, self.workers, report)
        corrupt = damage.corrupt()
        lost = {d for d in damage.unreadable(set()) if backend.size(d) is None}
        if set(self.local.known_bad()) != corrupt:
            self.local.set_known_bad(corrupt)
        return VerifyReport(
            ok=damage.ok, corrupt=sorted(corrupt), lost=sorted(lost), packs=damage.packs
        )

    def repair(self, *, progress: Progress | None = None) -> RepairReport:
        """Drop every damaged copy (and what killed writers left behind), so that the next
        ``add`` or ``pull`` stores those objects again."""
        from tether.objects.fsck import RepairReport, repair

        report = progress or no_progress
        if self.is_local:
            return repair(self.backend, self.workers, report)  # type: ignore[arg-type]
        corrupt = self.verify_all(progress=report).corrupt
        for digest in corrupt:
            self.backend.delete(digest)
        return RepairReport(dropped=corrupt, packs=[], temporaries=0)

    def delete(self, digest: str) -> None:
        """Remove one object (for garbage collection and repairs)."""
        self.backend.delete(check_digest(digest))
