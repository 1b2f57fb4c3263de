"""Content-addressed objects: BLAKE3-named blobs and trees in a folder or a bucket.

Names are imported on first use, so that a light submodule (``tether.objects.digest``, or
``tether.objects.walk`` on the fast path of ``tether data status``) does not bring in every
backend, nor ``typing``.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.objects.base import LocalCapabilities
    from tether.objects.digest import hash_bytes, hash_file
    from tether.objects.errors import (
        CorruptObject,
        InvalidDigest,
        NotATree,
        ObjectNotFound,
        ObjectsNotWritable,
        SourceChanged,
        UnknownObjectsScheme,
        UnreadableSource,
    )
    from tether.objects.store import ObjectStore
    from tether.objects.sync import TransferReport, expand_trees, transfer
    from tether.objects.tree import Tree, TreeEntry
    from tether.objects.types import ObjectInfo, Progress, TreeInfo
    from tether.objects.verify import VerifyReport

# public name -> module that defines it
_LAZY = {
    "hash_bytes": "tether.objects.digest",
    "hash_file": "tether.objects.digest",
    "CorruptObject": "tether.objects.errors",
    "InvalidDigest": "tether.objects.errors",
    "NotATree": "tether.objects.errors",
    "ObjectNotFound": "tether.objects.errors",
    "ObjectsNotWritable": "tether.objects.errors",
    "SourceChanged": "tether.objects.errors",
    "UnknownObjectsScheme": "tether.objects.errors",
    "UnreadableSource": "tether.objects.errors",
    "LocalCapabilities": "tether.objects.base",
    "ObjectStore": "tether.objects.store",
    "TransferReport": "tether.objects.sync",
    "expand_trees": "tether.objects.sync",
    "transfer": "tether.objects.sync",
    "Tree": "tether.objects.tree",
    "TreeEntry": "tether.objects.tree",
    "ObjectInfo": "tether.objects.types",
    "Progress": "tether.objects.types",
    "TreeInfo": "tether.objects.types",
    "VerifyReport": "tether.objects.verify",
}

__all__ = [
    "CorruptObject",
    "InvalidDigest",
    "LocalCapabilities",
    "NotATree",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectsNotWritable",
    "Progress",
    "SourceChanged",
    "TransferReport",
    "Tree",
    "TreeEntry",
    "TreeInfo",
    "UnknownObjectsScheme",
    "UnreadableSource",
    "VerifyReport",
    "expand_trees",
    "hash_bytes",
    "hash_file",
    "transfer",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
