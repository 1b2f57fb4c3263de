"""Listing the files of a folder for a tree, following symlinks safely.

Symlinks are followed when they stay inside the folder; a link that points outside it, a
broken link, a loop and special files (sockets, FIFOs, devices) are clear InvalidInput errors.
Uses ``os.scandir`` file types, so listing costs no ``stat`` per regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from tether.errors import InvalidInput


@dataclass(frozen=True)
class FoundFile:
    path: str
    """Relative POSIX path inside the folder."""
    source: str
    """Absolute path to read the bytes from."""


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip("/") + "/")


def list_files(folder: str | os.PathLike[str]) -> list[FoundFile]:
    """Every file under ``folder`` (following safe symlinks), in no particular order."""
    top = os.fspath(folder)
    try:
        root = os.path.realpath(top, strict=True)
    except OSError as e:
        raise InvalidInput(f"cannot read folder {top}: {e.strerror}") from None
    if not os.path.isdir(root):
        raise InvalidInput(f"{top} is not a folder")
    found: list[FoundFile] = []
    # Each stack item: (real folder path, relative prefix, real paths of its ancestors).
    stack: list[tuple[str, str, frozenset[str]]] = [(root, "", frozenset({root}))]
    while stack:
        real_dir, prefix, ancestors = stack.pop()
        try:
            entries = list(os.scandir(real_dir))
        except OSError as e:
            raise InvalidInput(f"cannot list folder {real_dir}: {e.strerror}") from None
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_symlink():
                _follow(entry.path, rel, root, top, ancestors, found, stack)
            elif entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, rel + "/", ancestors | {entry.path}))
            elif entry.is_file(follow_symlinks=False):
                found.append(FoundFile(rel, entry.path))
            else:
                raise InvalidInput(
                    f"{os.path.join(top, rel)} is not a regular file, folder or symlink; "
                    "remove it or store the folder without it"
                )
    return found


def _follow(
    link: str,
    rel: str,
    root: str,
    top: str,
    ancestors: frozenset[str],
    found: list[FoundFile],
    stack: list[tuple[str, str, frozenset[str]]],
) -> None:
    shown = os.path.join(top, rel)
    try:
        real = os.path.realpath(link, strict=True)
        st = os.stat(real)
    except OSError as e:
        reason = "a symlink loop" if e.errno == errno.ELOOP else f"broken ({e.strerror})"
        raise InvalidInput(f"symlink {shown} is {reason}; fix or remove it") from None
    if not _inside(real, root):
        raise InvalidInput(
            f"symlink {shown} points outside the folder (to {real}); "
            "copy the target into the folder or remove the link"
        )
    if stat.S_ISDIR(st.st_mode):
        if real in ancestors:
            raise InvalidInput(f"symlink {shown} makes a loop (it points to its own parent {real})")
        stack.append((real, rel + "/", ancestors | {real}))
    elif stat.S_ISREG(st.st_mode):
        found.append(FoundFile(rel, real))
    else:
        raise InvalidInput(f"symlink {shown} points to {real}, which is not a regular file")
