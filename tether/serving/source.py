"""Where served models come from: ``ModelSource`` resolves ``name@alias`` to a version and the
folder holding that version (what ``tether.models.save_model`` wrote).

``version_of`` is cheap and is what the server polls to follow an alias; ``folder`` may
download. ``DirectorySource`` reads a plain folder layout (tests, air-gapped hosts);
``tether.serving.store_source.StoreSource`` reads the metadata and object stores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tether.serving.errors import BadReference, ServingError


@dataclass(frozen=True)
class Ref:
    """``name@alias``, or ``name@3`` for a pinned version (``alias`` is then ``None``)."""

    name: str
    alias: str | None
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> Ref:
        name, sep, rest = text.partition("@")
        if not sep or not name or not rest or "@" in rest or "/" in name:
            raise BadReference(text)
        if rest.isdigit():
            return cls(name, None, int(rest))
        return cls(name, rest)

    def __str__(self) -> str:
        return f"{self.name}@{self.alias if self.alias is not None else self.version}"


class ModelSource(Protocol):
    def version_of(self, ref: Ref) -> int:
        """The version ``ref`` names now (polled to follow an alias)."""
        ...

    def folder(self, name: str, version: int) -> Path:
        """A local folder holding that version, ready for ``tether.models.load_model``."""
        ...


class DirectorySource:
    """``ROOT/NAME/VERSION/`` holds each version's model folder; ``ROOT/NAME/ALIAS`` is a text
    file holding the version number the alias points at (replace it atomically to move it)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def version_of(self, ref: Ref) -> int:
        if ref.version is not None:
            return ref.version
        path = self.root / ref.name / str(ref.alias)
        try:
            text = path.read_text().strip()
        except OSError as e:
            raise ServingError(
                f"alias {ref} not found ({path}: {e.strerror}); write the version number there"
            ) from None
        if not text.isdigit():
            raise ServingError(f"alias file {path} holds {text[:40]!r}, not a version number")
        return int(text)

    def folder(self, name: str, version: int) -> Path:
        path = self.root / name / str(version)
        if not path.is_dir():
            raise ServingError(f"model {name!r} has no version {version} ({path} is missing)")
        return path

    def __repr__(self) -> str:
        return f"DirectorySource({str(self.root)!r})"
