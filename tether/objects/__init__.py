"""Content-addressed objects: BLAKE3-named blobs and trees in a folder or a bucket."""

from tether.objects.digest import hash_bytes, hash_file
from tether.objects.errors import (
    CorruptObject,
    InvalidDigest,
    NotATree,
    ObjectNotFound,
    ObjectsNotWritable,
    SourceChanged,
    UnknownObjectsScheme,
)
from tether.objects.store import ObjectStore
from tether.objects.transfer import TransferReport, expand_trees, transfer
from tether.objects.tree import Tree, TreeEntry
from tether.objects.types import ObjectInfo, Progress, TreeInfo
from tether.objects.verify import VerifyReport

__all__ = [
    "CorruptObject",
    "InvalidDigest",
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
    "VerifyReport",
    "expand_trees",
    "hash_bytes",
    "hash_file",
    "transfer",
]
