"""Reading tree manifests fast when only paths, digests and sizes are needed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tether.objects.errors import NotATree
from tether.objects.tree import MAGIC

if TYPE_CHECKING:
    from tether.objects import ObjectStore

Index = dict[str, tuple[str, int, int]]
"""path -> (digest, size, mode)."""


def load_index(objects: ObjectStore, digest: str) -> Index:
    """The entries of a stored tree by path (bytes verified against ``digest``).

    Skips the full validation of :meth:`ObjectStore.read_tree` (paths were checked when the
    tree was written); use it only to compare, never to choose where to write.
    """
    data = objects.get_bytes(digest)
    if not data.startswith(MAGIC):
        raise NotATree(digest, "the bytes do not start like a tree manifest")
    try:
        doc = json.loads(data)
        return {e["path"]: (e["digest"], e["size"], e["mode"]) for e in doc["entries"]}
    except (ValueError, KeyError, TypeError) as e:
        raise NotATree(digest, f"malformed manifest: {e}") from None
