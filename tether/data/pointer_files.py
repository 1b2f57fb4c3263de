"""Pointer files as plain text, with ``os`` alone: where they are, and what one says when it is
exactly as :func:`tether.data.pointer.write_pointer` wrote it.

``tether data status`` reads pointers here before anything else is imported: a TOML parser,
pathlib and dataclasses cost more to import than an unchanged dataset costs to check.
:func:`tether.data.pointer.find_pointers` lists pointers with the same function, and reads
them with the TOML parser, which accepts any valid form.
"""

from __future__ import annotations

import os

SUFFIX = ".tether"
HEADER = (
    "# Written by tether (`tether data add`); commit this file, not the data.\n"
    "# `tether data checkout` restores the data to the version named here.\n"
)
KEYS = ("name", "version", "kind", "tree", "files", "size")
"""The keys of a pointer, in the order they are written."""

SKIP_DIRS = frozenset(
    {
        ".git",
        ".tether",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)
"""Folders never searched for pointers."""


def pointer_files(root: str) -> list[str]:
    """Every pointer file under ``root``, sorted as paths are (by component); tracked data
    folders are not entered."""
    found: list[str] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        names = {e.name for e in entries}
        for e in entries:
            if e.name.endswith(SUFFIX) and e.name != SUFFIX and e.is_file(follow_symlinks=False):
                found.append(e.path)
            elif (
                e.is_dir(follow_symlinks=False)
                and e.name not in SKIP_DIRS
                and e.name + SUFFIX not in names
            ):
                stack.append(e.path)
    return sorted(found, key=lambda path: path.split(os.sep))


def read_as_written(path: str) -> tuple[str, int, str] | None:
    """(name, version, tree) of a valid pointer file exactly as ``write_pointer`` wrote it.

    None for any other text (an edited header, other spacing, an escape in a string, an invalid
    value), which only a TOML parser may read: ``tether.data.pointer.read_pointer``.
    """
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not (text.startswith(HEADER) and text.endswith("\n")):
        return None
    lines = text[len(HEADER) : -1].split("\n")
    if len(lines) != len(KEYS):
        return None
    values = []
    for key, line in zip(KEYS, lines, strict=True):
        written_key, equals, value = line.partition(" = ")
        if written_key != key or not equals:
            return None
        values.append(value)
    name, kind, tree = _plain_string(values[0]), _plain_string(values[2]), _plain_string(values[3])
    version, files, size = _plain_int(values[1]), _plain_int(values[4]), _plain_int(values[5])
    if name is None or tree is None or version is None or files is None or size is None:
        return None
    if not name or version < 1 or kind not in ("file", "folder") or not _is_digest(tree):
        return None
    return name, version, tree


def _plain_string(value: str) -> str | None:
    """The TOML basic string ``value`` when it has no escape or control character, else None."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return None
    s = value[1:-1]
    return s if '"' not in s and "\\" not in s and s.isprintable() else None


def _plain_int(value: str) -> int | None:
    """The TOML integer ``value`` when it is plain decimal digits, else None."""
    if value.isascii() and value.isdigit() and (value == "0" or value[0] != "0"):
        return int(value)
    return None


def _is_digest(value: str) -> bool:
    return len(value) == 64 and not value.strip("0123456789abcdef")
