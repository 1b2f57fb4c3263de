"""The files of a saved model, as its manifest lists them: every read goes through here, so a
manifest cannot make a flavour read outside the model's folder or a file that changed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tether.errors import InvalidInput
from tether.models.errors import BadManifest, CorruptModel


@dataclass(frozen=True)
class FileEntry:
    size: int
    digest: str


def check_name(name: object, manifest: Path) -> str:
    """``name`` if it is a relative path inside the model folder, else BadManifest."""
    from tether.objects.tree import check_path

    try:
        return check_path(name)
    except InvalidInput:
        raise BadManifest(
            manifest, f"file name {name!r} must be a relative path inside the model folder"
        ) from None


class ModelFiles:
    """The verified files of a saved model folder."""

    def __init__(self, folder: Path, entries: Mapping[str, FileEntry], manifest: Path) -> None:
        self.folder = folder
        self.entries = dict(entries)
        self._manifest = manifest

    def path(self, name: str) -> Path:
        """The path of a listed file; BadManifest for a name the manifest does not list."""
        if name not in self.entries:
            raise BadManifest(self._manifest, f"it refers to {name!r}, which it does not list")
        return self.folder / name

    def verify(self) -> None:
        """Check that every listed file is inside the folder, has its size and its digest."""
        from tether.objects.digest import hash_file

        root = os.path.realpath(self.folder)
        for name, entry in self.entries.items():
            path = self.folder / name
            real = os.path.realpath(path)
            if not real.startswith(root + os.sep):
                raise BadManifest(self._manifest, f"file {name!r} leads outside the model folder")
            try:
                info = hash_file(path)
            except FileNotFoundError:
                raise CorruptModel(path, "it is missing") from None
            except OSError as e:
                raise CorruptModel(path, f"it cannot be read ({e.strerror})") from None
            if info.size != entry.size or info.digest != entry.digest:
                raise CorruptModel(
                    path, "its content does not match the digest the manifest records"
                )
