"""Step values in the object store: a tree of ``tether-value.json`` plus the ``data/`` folder.

``store_value`` picks a materialiser by type and stores the folder it writes; ``restore`` puts a
stored value back under the workspace cache (once per digest; later uses find it there) and
``load_value`` reads it with the materialiser recorded at save time.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tether.pipelines.materializers as mats
from tether.errors import InvalidInput
from tether.objects.gclock import freshen
from tether.pipelines.errors import NoMaterializer

if TYPE_CHECKING:
    from tether.objects import ObjectStore

META = "tether-value.json"
DATA = "data"


@dataclass(frozen=True)
class StoredValue:
    """A value stored as a tree: its digest, total size, file count and materialiser."""

    digest: str
    size: int
    count: int
    materializer: str
    key: str | None = None  # a canonical digest of the value, where the materialiser gives one

    @property
    def cache_digest(self) -> str:
        """What downstream cache keys use: equal values, equal digest, where known."""
        return self.key or self.digest


def store_value(objects: ObjectStore, value: Any, what: str, scratch: Path) -> StoredValue:
    """Materialise ``value`` and store it; ``what`` names it in errors."""
    m = mats.for_value(value)
    if m is None:
        raise NoMaterializer(what, value)
    return store_folder_with(objects, m, value, scratch)


def store_folder_with(
    objects: ObjectStore, m: mats.Materializer, value: Any, scratch: Path
) -> StoredValue:
    scratch.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="value-", dir=scratch))
    try:
        data = root / DATA
        data.mkdir()
        m.save(value, data)
        canonical = getattr(m, "canonical_digest", None)
        key = None
        if canonical is not None:
            from tether.objects.digest import hash_bytes

            text = f"{m.name}|{m.version}|{canonical(data)}"
            key = hash_bytes(text.encode("utf-8"))
        meta = {"materializer": m.name, "version": m.version}
        (root / META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        info = objects.put_tree(root)
        freshen(objects, info.digest)  # found stored: `tether gc`'s grace keeps it (and its files)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return StoredValue(info.digest, info.size, info.count, m.name, key)


def restore(objects: ObjectStore, digest: str, cache_dir: Path) -> Path:
    """The folder holding the stored value ``digest`` (restored on first use, atomically)."""
    final = cache_dir / digest[:2] / digest
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=final.parent))
    try:
        objects.get_tree(digest, tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict) or "materializer" not in meta:
        raise InvalidInput(f"{folder} does not hold a stored step value ({META} missing)")
    return meta


def load_value(objects: ObjectStore, digest: str, cache_dir: Path) -> Any:
    folder = restore(objects, digest, cache_dir)
    m = mats.by_name(str(read_meta(folder)["materializer"]))
    return m.load(folder / DATA)


def data_path(folder: Path) -> Path:
    """What a shell command is given for a stored value: its one file or folder, else ``data/``."""
    data = folder / DATA
    with contextlib.suppress(OSError):
        entries = list(data.iterdir())
        if len(entries) == 1:
            return entries[0]
    return data
