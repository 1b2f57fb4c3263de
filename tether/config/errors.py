from __future__ import annotations

from tether.errors import ConfigError, Conflict


class WorkspaceNotFound(ConfigError):
    """No ``.tether/`` folder in the current folder or any parent."""


class InvalidSetting(ConfigError):
    """A config file, environment variable or flag holds a bad value or an unknown key."""


class SymlinkedFile(Conflict):
    """A file Tether edits in the workspace (a pointer, a ``.gitignore``) is a symlink."""

    def __init__(self, path: str, target: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is a symbolic link (to {target}); Tether does not read or write the files "
            "it manages through links: replace the link with a regular file (for a pointer "
            "file or .gitignore beside data, `tether data add --force` does it)"
        )
