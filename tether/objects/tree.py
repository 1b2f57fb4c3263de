"""Tree manifests: the canonical, deterministic listing of a folder's files.

A manifest is UTF-8 JSON with sorted keys and no whitespace::

    {"entries":[{"digest":"…","mode":420,"path":"a/b.txt","size":3}],"format":"tether.tree/1"}

Entries are sorted by path; paths are relative POSIX paths without ``.`` or ``..`` parts; modes
are 0o644 or 0o755 (only the executable bit is kept). Equal folders give equal bytes, hence
equal digests, whatever order the files were found in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from tether.errors import InvalidInput
from tether.objects.digest import check_digest, hash_bytes

FORMAT = "tether.tree/1"
MAGIC = b'{"entries":['
"""Every manifest starts with these bytes, which lets a store tell trees from files cheaply."""

FILE_MODE = 0o644
EXEC_MODE = 0o755


def normalise_mode(mode: int) -> int:
    """0o755 if any executable bit is set, else 0o644."""
    return EXEC_MODE if mode & 0o111 else FILE_MODE


def check_path(path: object) -> str:
    """Return ``path`` if it is a safe relative POSIX path, else raise InvalidInput."""
    if not isinstance(path, str) or not path:
        raise InvalidInput(f"tree entry path {path!r} must be a non-empty string")
    if path.startswith("/") or "\x00" in path:
        raise InvalidInput(f"tree entry path {path!r} must be relative (no leading /, no NUL)")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InvalidInput(
                f"tree entry path {path!r} must not contain empty, '.' or '..' parts"
            )
    return path


@dataclass(frozen=True, order=True)
class TreeEntry:
    """One file of a tree: relative POSIX path, digest, size in bytes and mode."""

    path: str
    digest: str
    size: int
    mode: int = FILE_MODE


@dataclass(frozen=True)
class Tree:
    """A folder as a sorted tuple of entries; build it with :meth:`from_entries`."""

    entries: tuple[TreeEntry, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[TreeEntry]) -> Tree:
        """Validate and sort entries; reject duplicate paths and file/folder clashes."""
        checked = []
        for e in entries:
            check_path(e.path)
            check_digest(e.digest)
            if not isinstance(e.size, int) or isinstance(e.size, bool) or e.size < 0:
                raise InvalidInput(f"tree entry {e.path!r}: size {e.size!r} must be an int >= 0")
            if e.mode not in (FILE_MODE, EXEC_MODE):
                raise InvalidInput(f"tree entry {e.path!r}: mode {e.mode!r} must be 0o644 or 0o755")
            checked.append(e)
        checked.sort(key=lambda e: e.path)
        paths: set[str] = set()
        for e in checked:
            if e.path in paths:
                raise InvalidInput(f"tree has the path {e.path!r} twice")
            paths.add(e.path)
        for e in checked:
            parent = e.path
            while "/" in parent:
                parent = parent.rsplit("/", 1)[0]
                if parent in paths:
                    raise InvalidInput(
                        f"tree path {parent!r} is a file but also the folder of {e.path!r}"
                    )
        return cls(tuple(checked))

    @property
    def size(self) -> int:
        """Total bytes of all files."""
        return sum(e.size for e in self.entries)

    @property
    def count(self) -> int:
        return len(self.entries)

    def to_bytes(self) -> bytes:
        """The canonical manifest bytes."""
        doc = {
            "entries": [
                {"digest": e.digest, "mode": e.mode, "path": e.path, "size": e.size}
                for e in self.entries
            ],
            "format": FORMAT,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8"
        )

    @property
    def digest(self) -> str:
        return hash_bytes(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Tree:
        """Parse manifest bytes; raise InvalidInput when they are not a valid manifest."""
        if not data.startswith(MAGIC):
            raise InvalidInput("the bytes do not start like a tree manifest")
        try:
            doc = json.loads(data.decode("utf-8"))
            if doc.get("format") != FORMAT:
                raise InvalidInput(f"unsupported tree format {doc.get('format')!r}")
            entries = [
                TreeEntry(str(x["path"]), str(x["digest"]), int(x["size"]), int(x["mode"]))
                for x in doc["entries"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InvalidInput(f"malformed tree manifest: {e}") from None
        tree = cls.from_entries(entries)
        if tree.to_bytes() != data:
            raise InvalidInput("tree manifest is not in canonical form")
        return tree
