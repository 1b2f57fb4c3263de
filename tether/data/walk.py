"""Listing the files of the data to version, with their stat, in one ``os.scandir`` pass.

Symlinks are followed when they stay inside the data; a link that points outside it, a broken
link, a loop and special files (FIFOs, sockets, devices) are clear errors naming the path.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import NamedTuple

from tether.errors import InvalidInput


class Found(NamedTuple):
    path: str
    """Relative POSIX path inside the data (a file's own name for a single file)."""
    source: str
    """The real path to read the bytes from."""
    stat: os.stat_result
    """The stat of ``source``."""


def _special(shown: str) -> InvalidInput:
    return InvalidInput(
        f"{shown} is not a regular file, folder or symlink (a FIFO, socket or device); "
        "remove it or move it out of the data"
    )


def scan(path: str) -> list[Found]:
    """Every file of ``path`` (a file or a folder), in no particular order."""
    try:
        real = os.path.realpath(path, strict=True)
        st = os.stat(real)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InvalidInput(f"{path} is a symlink loop; fix or remove the link") from None
        raise InvalidInput(f"no file or folder at {path} ({e.strerror}); check the path") from None
    if stat.S_ISREG(st.st_mode):
        return [Found(os.path.basename(os.path.abspath(path)), real, st)]
    if not stat.S_ISDIR(st.st_mode):
        raise _special(path)
    return _walk(real, path)


def _walk(root: str, shown_root: str) -> list[Found]:
    found: list[Found] = []
    append = found.append
    stack: list[tuple[str, str, frozenset[str]]] = [(root, "", frozenset({root}))]
    prefix_root = root.rstrip("/") + "/"
    while stack:
        folder, prefix, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as e:
            shown = os.path.join(shown_root, prefix) if prefix else shown_root
            raise InvalidInput(
                f"cannot list folder {shown} ({e.strerror}); fix its permissions"
            ) from None
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_file(follow_symlinks=False):  # most entries: tested first
                    append(Found(rel, entry.path, entry.stat(follow_symlinks=False)))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/", ancestors | {entry.path}))
                elif entry.is_symlink():
                    real = os.path.realpath(entry.path, strict=True)
                    st = os.stat(real)
                    shown = os.path.join(shown_root, rel)
                    if not (real == root or real.startswith(prefix_root)):
                        raise InvalidInput(
                            f"symlink {shown} points outside the data (to {real}); copy the "
                            "target into the data or remove the link"
                        )
                    if stat.S_ISDIR(st.st_mode):
                        if real in ancestors:
                            raise InvalidInput(
                                f"symlink {shown} makes a loop (it points to its own parent "
                                f"{real}); remove the link"
                            )
                        stack.append((real, rel + "/", ancestors | {real}))
                    elif stat.S_ISREG(st.st_mode):
                        append(Found(rel, real, st))
                    else:
                        raise _special(shown)
                else:
                    raise _special(os.path.join(shown_root, rel))
            except OSError as e:
                shown = os.path.join(shown_root, rel)
                if e.errno == errno.ELOOP:
                    raise InvalidInput(
                        f"symlink {shown} is a symlink loop; fix or remove it"
                    ) from None
                raise InvalidInput(
                    f"cannot read {shown} ({e.strerror}); fix or remove it"
                ) from None
    return found
