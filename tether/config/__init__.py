"""Workspace discovery and the settings table.

Names are imported on first use, so that finding the workspace (``tether.config.workspace``)
does not load the settings table and the remotes.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.config.errors import InvalidSetting, WorkspaceNotFound
    from tether.config.settings import SETTINGS, Settings, load_settings
    from tether.config.workspace import WorkspaceDir, find_workspace, init_workspace

# public name -> module that defines it
_LAZY = {
    "InvalidSetting": "tether.config.errors",
    "WorkspaceNotFound": "tether.config.errors",
    "SETTINGS": "tether.config.settings",
    "Settings": "tether.config.settings",
    "load_settings": "tether.config.settings",
    "WorkspaceDir": "tether.config.workspace",
    "find_workspace": "tether.config.workspace",
    "init_workspace": "tether.config.workspace",
}

__all__ = [
    "SETTINGS",
    "InvalidSetting",
    "Settings",
    "WorkspaceDir",
    "WorkspaceNotFound",
    "find_workspace",
    "init_workspace",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
