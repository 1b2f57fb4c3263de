"""Dataset versions of files, folders and tables: add, status, checkout, pointers, stat cache.

Names are imported on first use: ``tether data status`` should not pay for pyarrow-aware
table code or the checkout machinery it never runs.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.data.build import AddResult, add
    from tether.data.changes import DatasetStatus, status
    from tether.data.dataset import cached_path, files, resolve
    from tether.data.errors import (
        BadPointer,
        BadReference,
        CheckoutFailed,
        CorruptCheckout,
        DatasetBusy,
        FileChanged,
        MissingObjects,
        NoPointer,
        NotATable,
        NotEnoughSpace,
        OutsideWorkspace,
        ReservedPath,
        UnreadableFile,
        UnsafeDestination,
        UnsafePointer,
        WorkWouldBeLost,
    )
    from tether.data.materialize import LINK_MODES, CheckoutReport, LinkMode
    from tether.data.pointer import Pointer, find_pointers, read_pointer
    from tether.data.ref import parse_ref
    from tether.data.repo import DataRepo
    from tether.data.restore import PointerCheckout, checkout, checkout_pointers
    from tether.data.transfer import Transfer, pull, push

# public name -> module that defines it
_LAZY = {
    "AddResult": "tether.data.build",
    "add": "tether.data.build",
    "PointerCheckout": "tether.data.restore",
    "checkout": "tether.data.restore",
    "checkout_pointers": "tether.data.restore",
    "cached_path": "tether.data.dataset",
    "files": "tether.data.dataset",
    "resolve": "tether.data.dataset",
    "BadPointer": "tether.data.errors",
    "BadReference": "tether.data.errors",
    "CheckoutFailed": "tether.data.errors",
    "CorruptCheckout": "tether.data.errors",
    "DatasetBusy": "tether.data.errors",
    "FileChanged": "tether.data.errors",
    "MissingObjects": "tether.data.errors",
    "NoPointer": "tether.data.errors",
    "NotATable": "tether.data.errors",
    "NotEnoughSpace": "tether.data.errors",
    "OutsideWorkspace": "tether.data.errors",
    "ReservedPath": "tether.data.errors",
    "UnreadableFile": "tether.data.errors",
    "UnsafeDestination": "tether.data.errors",
    "UnsafePointer": "tether.data.errors",
    "WorkWouldBeLost": "tether.data.errors",
    "LINK_MODES": "tether.data.materialize",
    "CheckoutReport": "tether.data.materialize",
    "LinkMode": "tether.data.materialize",
    "Pointer": "tether.data.pointer",
    "find_pointers": "tether.data.pointer",
    "read_pointer": "tether.data.pointer",
    "parse_ref": "tether.data.ref",
    "DataRepo": "tether.data.repo",
    "DatasetStatus": "tether.data.changes",
    "status": "tether.data.changes",
    "Transfer": "tether.data.transfer",
    "push": "tether.data.transfer",
    "pull": "tether.data.transfer",
}

__all__ = [
    "LINK_MODES",
    "AddResult",
    "BadPointer",
    "BadReference",
    "CheckoutFailed",
    "CheckoutReport",
    "CorruptCheckout",
    "DataRepo",
    "DatasetBusy",
    "DatasetStatus",
    "FileChanged",
    "LinkMode",
    "MissingObjects",
    "NoPointer",
    "NotATable",
    "NotEnoughSpace",
    "OutsideWorkspace",
    "Pointer",
    "PointerCheckout",
    "ReservedPath",
    "Transfer",
    "UnreadableFile",
    "UnsafeDestination",
    "UnsafePointer",
    "WorkWouldBeLost",
    "add",
    "cached_path",
    "checkout",
    "checkout_pointers",
    "files",
    "find_pointers",
    "parse_ref",
    "pull",
    "push",
    "read_pointer",
    "resolve",
    "status",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
