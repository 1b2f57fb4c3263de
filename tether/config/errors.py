from __future__ import annotations

from tether.errors import ConfigError, Conflict, InvalidInput, NotFound

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


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


class ConfigNotEditable(ConfigError):
    """An edit of a config file could not be made without risking its other content."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(
            f"cannot update {path} safely ({what}); edit the file by hand, "
            "see docs/remotes.md for the format"
        )


class RemoteExists(Conflict):
    """``remote add`` of a name that is already configured, without ``--force``."""

    def __init__(self, name: str, url: str) -> None:
        super().__init__(
            f"remote {name!r} already exists (url {url}); pass --force to replace it, or "
            f"remove it first with `tether remote remove {name}`"
        )


class UnknownRemote(NotFound):
    """No remote has the name that was asked for."""

    def __init__(self, name: str, known: Mapping[str, object], why: str = "") -> None:
        self.name = name
        listed = ", ".join(sorted(known)) or "none"
        super().__init__(
            f"no remote named {name!r}{why}; configured remotes: {listed}; "
            f"add it with `tether remote add {name} URL`"
        )


class NoDefaultRemote(ConfigError):
    """A command needs a remote, none was named and ``core.remote`` is not set."""

    def __init__(self, known: Mapping[str, object]) -> None:
        hint = ""
        if known:
            names = ", ".join(sorted(known))
            hint = f", or make one the default with `tether remote default NAME` ({names})"
        super().__init__(
            "no default remote is configured; pass --remote NAME, add one with "
            f"`tether remote add NAME URL --default`{hint}"
        )


class InvalidRemote(InvalidInput):
    """A remote name, URL or endpoint is malformed; the message says which and why."""
