"""Listing the files of a folder to store, with their stat, in one ``os.scandir`` pass.

The one walk of Tether: ``ObjectStore.put_tree`` and ``tether data add`` store what it lists,
and ``tether data status`` fingerprints it (before anything else is imported: this module
imports ``os`` and the error classes only, no ``typing``).

Symlinks are followed when they stay inside the folder; a link that points outside it, a broken
link, a loop, a second way to reach the same folder, a name that is not UTF-8, a path longer than
the system allows and special files (FIFOs, sockets, devices) are clear errors naming the path.
An entry removed while the folder is listed is :class:`SourceChanged`.
"""

from __future__ import annotations

import errno
import os
import stat

from tether.errors import InvalidInput
from tether.objects.errors import SourceChanged


class Found:
    """A file found. A plain class, not a NamedTuple: cheaper to make, and this module
    must not import ``typing`` (the fast path of ``tether data status`` uses it)."""

    __slots__ = ("path", "source", "stat")

    def __init__(self, path: str, source: str, stat: os.stat_result) -> None:
        self.path = path
        """Relative POSIX path inside the folder (a file's own name for a single file)."""
        self.source = source
        """The real path to read the bytes from."""
        self.stat = stat
        """The stat of ``source``."""

    def __repr__(self) -> str:
        return f"Found({self.path!r}, {self.source!r})"


def _special(shown: str, what: str) -> InvalidInput:
    return InvalidInput(
        f"{shown} is not a regular file, folder or symlink (a FIFO, socket or device); "
        f"remove it or move it out of the {what}"
    )


def printable(path: str) -> str:
    """``path`` for a message: bytes that are not UTF-8 shown as ``\\xff``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _not_utf8(shown: str, what: str) -> InvalidInput:
    return InvalidInput(
        f"the name of {printable(shown)} is not valid UTF-8; Tether stores file names as "
        "UTF-8 (like git and JSON): rename it (convmv can fix a whole folder) or move it out "
        f"of the {what}"
    )


def _too_long(shown: str) -> InvalidInput:
    return InvalidInput(
        f"{printable(shown)[:200]}... is nested too deep: its path is longer than the system "
        "allows (PATH_MAX), so it could not be checked out again; shorten the folder names "
        "or flatten the folders"
    )


def scan(
    path: str, folders: list[tuple[str, os.stat_result]] | None = None, *, what: str = "data"
) -> list[Found]:
    """Every file of ``path`` (a file or a folder), in no particular order.

    Each real folder is listed once: a symlink to a folder that is already part of it (or
    reached a second time through another link) is refused, so a chain of links cannot make
    the walk exponential. ``folders``, when given, receives the real path and stat of every
    folder listed, for :func:`changed_folder`. ``what`` names the path in messages ("data",
    "folder").
    """
    try:
        real = os.path.realpath(path, strict=True)
        st = os.stat(real)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InvalidInput(f"{path} is a symlink loop; fix or remove the link") from None
        if e.errno == errno.ENAMETOOLONG:
            raise _too_long(path) from None
        raise InvalidInput(f"no file or folder at {path} ({e.strerror}); check the path") from None
    if stat.S_ISREG(st.st_mode):
        return [Found(os.path.basename(os.path.abspath(path)), real, st)]
    if not stat.S_ISDIR(st.st_mode):
        raise _special(path, what)
    return _walk(real, path, folders if folders is not None else [], what)


def changed_folder(folders: list[tuple[str, os.stat_result]]) -> str | None:
    """The first folder whose inode or mtime changed since it was listed (an entry was added,
    removed or renamed, or the folder itself was replaced), or None."""
    for path, before in folders:
        try:
            now = os.stat(path)
        except OSError:
            return path
        if (now.st_ino, now.st_dev, now.st_mtime_ns) != (
            before.st_ino,
            before.st_dev,
            before.st_mtime_ns,
        ):
            return path
    return None


_BY_FD = os.scandir in os.supports_fd and hasattr(os, "O_DIRECTORY")
"""Folders are listed through a descriptor where the platform can (POSIX)."""


def _listed(folder: str, shown: str) -> tuple[int | None, os.stat_result, list[os.DirEntry[str]]]:
    """An open descriptor of ``folder`` (the caller closes it), its stat and its entries.

    Listed through the descriptor, each entry's stat is an ``fstatat`` relative to it: the
    kernel looks up one name, not the whole path again (a walk of 20,000 files: 5% faster).
    Without descriptors (Windows), the folder is listed by path and the descriptor is None.
    """
    try:
        if not _BY_FD:
            st = os.stat(folder)
            with os.scandir(folder) as it:
                return None, st, list(it)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            st = os.fstat(fd)
            with os.scandir(fd) as it:
                return fd, st, list(it)
        except BaseException:
            os.close(fd)
            raise
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise _too_long(shown) from None
        if e.errno == errno.ENOENT:  # listed by its parent a moment ago: removed since
            raise SourceChanged(printable(shown)) from None
        raise InvalidInput(
            f"cannot list folder {printable(shown)} ({e.strerror}); fix its permissions"
        ) from None


def _walk(
    root: str, shown_root: str, folders: list[tuple[str, os.stat_result]], what: str
) -> list[Found]:
    found: list[Found] = []
    append = found.append
    # (folder, prefix, ancestors, the symlink it was reached through or "")
    stack: list[tuple[str, str, frozenset[str], str]] = [(root, "", frozenset({root}), "")]
    seen: dict[tuple[int, int], tuple[str, str]] = {}  # (dev, ino) -> (prefix, via link)
    prefix_root = root.rstrip("/") + "/"
    while stack:
        folder, prefix, ancestors, via = stack.pop()
        fd, st, entries = _listed(
            folder, os.path.join(shown_root, prefix) if prefix else shown_root
        )
        key = (st.st_dev, st.st_ino)
        if key in seen:
            if fd is not None:
                os.close(fd)
            first, first_via = seen[key]
            link, other = (via, first) if via else (first_via, prefix)
            raise InvalidInput(
                f"symlink {printable(os.path.join(shown_root, link.rstrip('/')))} points to "
                f"the folder {printable(os.path.join(shown_root, other.rstrip('/')))}, which "
                f"is already part of the {what}; each folder may appear once in it: "
                "remove the link or replace it with a copy"
            )
        seen[key] = (prefix, via)
        folders.append((folder, st))
        base = os.path.join(folder, "")
        try:
            for entry in entries:
                name = entry.name
                rel = prefix + name
                if not name.isascii():
                    try:
                        name.encode("utf-8")
                    except UnicodeEncodeError:
                        raise _not_utf8(os.path.join(shown_root, rel), what) from None
                try:
                    if entry.is_file(follow_symlinks=False):  # most entries: tested first
                        append(Found(rel, base + name, entry.stat(follow_symlinks=False)))
                    elif entry.is_dir(follow_symlinks=False):
                        path = base + name
                        stack.append((path, rel + "/", ancestors | {path}, ""))
                    elif entry.is_symlink():
                        real = os.path.realpath(base + name, strict=True)
                        target = os.stat(real)
                        shown = printable(os.path.join(shown_root, rel))
                        if not (real == root or real.startswith(prefix_root)):
                            raise InvalidInput(
                                f"symlink {shown} points outside the {what} (to "
                                f"{printable(real)}); copy the target into the {what} or "
                                "remove the link"
                            )
                        if stat.S_ISDIR(target.st_mode):
                            if real in ancestors:
                                raise InvalidInput(
                                    f"symlink {shown} makes a loop (it points to its own "
                                    f"parent {printable(real)}); remove the link"
                                )
                            stack.append((real, rel + "/", ancestors | {real}, rel + "/"))
                        elif stat.S_ISREG(target.st_mode):
                            append(Found(rel, real, target))
                        else:
                            raise _special(shown, what)
                    else:
                        raise _special(printable(os.path.join(shown_root, rel)), what)
                except OSError as e:
                    shown = os.path.join(shown_root, rel)
                    if e.errno == errno.ELOOP:
                        raise InvalidInput(
                            f"symlink {printable(shown)} is a symlink loop; fix or remove it"
                        ) from None
                    if e.errno == errno.ENAMETOOLONG:
                        raise _too_long(shown) from None
                    if e.errno == errno.ENOENT and not entry.is_symlink():
                        raise SourceChanged(printable(shown)) from None  # removed since listed
                    if e.errno == errno.ENOENT:
                        raise InvalidInput(
                            f"symlink {printable(shown)} is broken (its target does not "
                            "exist); fix or remove it"
                        ) from None
                    raise InvalidInput(
                        f"cannot read {printable(shown)} ({e.strerror}); fix or remove it"
                    ) from None
        finally:
            if fd is not None:
                os.close(fd)
    return found


Columns = tuple[list[str], list[int], list[int], list[int], list[int]]
"""Paths, sizes, mtimes (ns), inodes and modes of files, in walk order."""


def stat_columns(path: str) -> Columns | None:
    """What :func:`scan` finds in a folder, in the same order, as columns of the fields a
    fingerprint needs; None unless ``path`` is a folder of files and folders only.

    Each stat is dropped as soon as its fields are read, instead of kept in a ``Found``: for
    20,000 files this takes a third less time than ``scan`` (fewer objects made and freed).
    A symlink, a special file or an unreadable folder gives None: :func:`scan` handles those.
    """
    paths: list[str] = []
    sizes: list[int] = []
    mtimes: list[int] = []
    inodes: list[int] = []
    modes: list[int] = []
    root = os.path.realpath(path)
    if not os.path.isdir(root):
        return None
    stack = [(root, "")]
    while stack:  # the order of _walk: a folder's files, then its subfolders, last one first
        folder, prefix = stack.pop()
        try:
            fd, _, entries = _listed(folder, folder)
        except InvalidInput:
            return None
        base = os.path.join(folder, "")
        try:
            for entry in entries:
                name = entry.name
                if entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    paths.append(prefix + name)
                    sizes.append(st.st_size)
                    mtimes.append(st.st_mtime_ns)
                    inodes.append(st.st_ino)
                    modes.append(st.st_mode)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((base + name, prefix + name + "/"))
                else:
                    return None
        except OSError:
            return None
        finally:
            if fd is not None:
                os.close(fd)
    return paths, sizes, mtimes, inodes, modes
