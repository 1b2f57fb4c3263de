"""Dataset versions of files, folders and tables: add, status, checkout, pointers, stat cache."""

from tether.data.build import AddResult, add
from tether.data.checkout import PointerCheckout, checkout, checkout_pointers
from tether.data.dataset import cached_path, files, resolve
from tether.data.errors import (
    BadPointer,
    BadReference,
    CheckoutFailed,
    FileChanged,
    MissingObjects,
    NoPointer,
    NotATable,
    NotEnoughSpace,
    OutsideWorkspace,
    UnreadableFile,
    UnsafeDestination,
)
from tether.data.materialize import LINK_MODES, CheckoutReport, LinkMode, materialize
from tether.data.pointer import Pointer, find_pointers, read_pointer
from tether.data.ref import parse_ref
from tether.data.repo import DataRepo
from tether.data.status import DatasetStatus, status

__all__ = [
    "LINK_MODES",
    "AddResult",
    "BadPointer",
    "BadReference",
    "CheckoutFailed",
    "CheckoutReport",
    "DataRepo",
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
    "UnreadableFile",
    "UnsafeDestination",
    "add",
    "cached_path",
    "checkout",
    "checkout_pointers",
    "files",
    "find_pointers",
    "materialize",
    "parse_ref",
    "read_pointer",
    "resolve",
    "status",
]
