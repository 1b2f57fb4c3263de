"""The exception tree every Tether layer raises from.

Callers catch one of the category classes below; each layer defines its own subclasses
(``tether.objects.errors.ObjectNotFound`` is a ``NotFound``). Lower-level errors from
SQLAlchemy, fsspec or botocore are translated at the layer boundary and never leak out.
Every message says what was wrong and what to do about it.
"""

from __future__ import annotations


class TetherError(Exception):
    """Root of every error Tether raises on purpose."""


class ConfigError(TetherError):
    """A setting, config file or workspace is missing or invalid."""


class NotFound(TetherError):
    """Something that was asked for by name, id or digest does not exist."""


class Conflict(TetherError):
    """The request contradicts what is already stored (a duplicate name, a stale version)."""


class InvalidInput(TetherError):
    """An argument or value is malformed; the message names the field and the fix."""


class StorageError(TetherError):
    """A metadata database or object storage could not be reached, read or written."""


class IntegrityError(TetherError):
    """Stored data does not match its digest or its recorded shape."""


class MissingDependency(TetherError):
    """An optional extra is needed for this feature; the message names the pip command."""

    def __init__(self, what: str, extra: str, package: str) -> None:
        self.extra = extra
        self.package = package
        super().__init__(
            f"{what} needs the optional package {package!r}; "
            f"install it with: pip install 'tether[{extra}]'"
        )
