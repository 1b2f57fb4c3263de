"""The workspace client: one object that resolves settings once and owns the project, the
metadata store and the object store, opening each on first use.

``tether.Workspace`` (``tether/client.py``) adds the operations of the layers above
(runs, datasets, push, pull, checkout) to the :class:`Workspace` defined here, which is what
the tracking session, the data repository, the pipelines and the CLI work on.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.workspace.core import Workspace, settings_flags
    from tether.workspace.shared import close_workspaces, open_workspace

# public name -> module that defines it
_LAZY = {
    "Workspace": "tether.workspace.core",
    "settings_flags": "tether.workspace.core",
    "open_workspace": "tether.workspace.shared",
    "close_workspaces": "tether.workspace.shared",
}

__all__ = ["Workspace", "close_workspaces", "open_workspace", "settings_flags"]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
