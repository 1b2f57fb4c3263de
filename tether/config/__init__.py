"""Workspace discovery and the settings table."""

from tether.config.errors import InvalidSetting, WorkspaceNotFound
from tether.config.settings import SETTINGS, Settings, load_settings
from tether.config.workspace import Workspace, find_workspace, init_workspace

__all__ = [
    "SETTINGS",
    "InvalidSetting",
    "Settings",
    "Workspace",
    "WorkspaceNotFound",
    "find_workspace",
    "init_workspace",
    "load_settings",
]
