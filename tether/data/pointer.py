"""Pointer files: ``<data>.tether`` beside the data, small TOML meant to be committed to git.

A pointer names the dataset version the data should be (name, version, tree digest); after a
``git checkout`` of another commit, ``tether data checkout`` restores every dataset to what its
pointer names. Adding data also lists it in the ``.gitignore`` of its folder, so git tracks the
pointer and never the data.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tether.config.atomic import write_text_atomic
from tether.data.errors import BadPointer, UnsafePointer
from tether.data.paths import is_reserved
from tether.data.pointer_files import HEADER, SUFFIX, pointer_files
from tether.objects.digest import is_digest

Kind = Literal["file", "folder"]


@dataclass(frozen=True)
class Pointer:
    path: Path
    """The pointer file itself."""
    name: str
    version: int
    kind: Kind
    tree: str
    files: int
    size: int

    @property
    def data_path(self) -> Path:
        """The data the pointer stands for: its own path without ``.tether``."""
        return self.path.with_name(self.path.name[: -len(SUFFIX)])


def pointer_path(data: Path) -> Path:
    return data.with_name(data.name + SUFFIX)


def _q(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def write_pointer(
    data: Path, *, name: str, version: int, kind: Kind, tree: str, files: int, size: int
) -> Pointer:
    """Write (atomically) the pointer beside ``data``."""
    path = pointer_path(data)
    # pointer_files.read_as_written reads exactly this form back without a TOML parser
    text = (
        HEADER
        + f"name = {_q(name)}\nversion = {version}\nkind = {_q(kind)}\ntree = {_q(tree)}\n"
        + f"files = {files}\nsize = {size}\n"
    )
    write_text_atomic(path, text)
    return Pointer(path, name, version, kind, tree, files, size)


def check_pointer_name(path: Path) -> None:
    """UnsafePointer when the pointer's name makes no data path of its own (``..tether``
    names its folder) or names a ``.git`` or ``.tether`` folder (``.git.tether``)."""
    data = path.name[: -len(SUFFIX)]
    if not data.strip(". "):
        raise UnsafePointer(str(path), f"its data would be {data!r}, its own folder")
    if is_reserved(data):
        raise UnsafePointer(str(path), f"its data would be {data}, which is never data")


def read_pointer(path: Path) -> Pointer:
    check_pointer_name(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BadPointer(str(path), f"cannot read it ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadPointer(str(path), f"not valid TOML ({e})") from None
    try:
        name, version, kind, tree = doc["name"], doc["version"], doc["kind"], doc["tree"]
        files, size = doc.get("files", 0), doc.get("size", 0)
    except KeyError as e:
        raise BadPointer(str(path), f"the key {e.args[0]!r} is missing") from None
    if not isinstance(name, str) or not name:
        raise BadPointer(str(path), "name must be a non-empty string")
    if not isinstance(version, int) or version < 1:
        raise BadPointer(str(path), "version must be a number >= 1")
    if kind not in ("file", "folder"):
        raise BadPointer(str(path), "kind must be 'file' or 'folder'")
    if not isinstance(tree, str) or not is_digest(tree):
        raise BadPointer(str(path), "tree must be a digest of 64 lowercase hex characters")
    if not isinstance(files, int) or not isinstance(size, int):
        raise BadPointer(str(path), "files and size must be numbers")
    return Pointer(path, name, version, kind, tree, files, size)


def find_pointers(root: Path) -> list[Pointer]:
    """Every pointer under ``root``, sorted by path; tracked data folders are not entered."""
    return [read_pointer(Path(p)) for p in pointer_files(str(root))]


def ignore_in_git(data: Path) -> bool:
    """List ``data`` in its folder's ``.gitignore`` (once); True when a line was added."""
    gitignore = data.parent / ".gitignore"
    line = "/" + data.name
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    existing = {x.strip() for x in text.splitlines()}
    if line in existing or data.name in existing or line + "/" in existing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    write_text_atomic(gitignore, text + line + "\n")
    return True
