from __future__ import annotations

from tether.errors import ConfigError


class WorkspaceNotFound(ConfigError):
    """No ``.tether/`` folder in the current folder or any parent."""


class InvalidSetting(ConfigError):
    """A config file, environment variable or flag holds a bad value or an unknown key."""
