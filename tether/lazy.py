"""Package attributes imported on first use, so that importing a package stays cheap."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def lazy_attribute(package: str, names: Mapping[str, str], name: str) -> Any:
    """``name`` from the module ``names[name]``; a package's ``__getattr__`` calls this.

    A name listed here must not also be a submodule of the package: importing the submodule
    would bind the module under that name (tests/test_import_cost.py checks it).
    """
    module = names.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
