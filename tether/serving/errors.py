"""Errors of the inference server. ``BadRequest`` carries the HTTP status the client gets."""

from __future__ import annotations

from tether.errors import InvalidInput, MissingDependency, NotFound, TetherError


class ServingError(TetherError):
    """The server could not start or serve (a model that does not load, a bad reference)."""


class BadRequest(InvalidInput):
    """A request the server refuses; ``status`` is the HTTP status, ``input`` the tensor."""

    def __init__(self, message: str, *, status: int = 400, input: str | None = None) -> None:
        self.status = status
        self.input = input
        super().__init__(message)


class UnknownModel(NotFound):
    def __init__(self, name: str, served: list[str]) -> None:
        self.name = name
        have = ", ".join(served) or "none"
        super().__init__(f"model {name!r} is not served here; served models: {have}")


class BadReference(ServingError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"cannot read model reference {ref!r}: expected NAME@ALIAS (churn@champion) "
            "or NAME@VERSION (churn@3)"
        )


class LoadFailed(ServingError):
    """A version that could not be loaded or warmed up; the previous one keeps serving."""

    def __init__(self, name: str, version: int, reason: str) -> None:
        self.name = name
        self.version = version
        self.reason = reason
        super().__init__(f"model {name!r} version {version} could not be served: {reason}")


def need_serve_extra(e: ImportError) -> MissingDependency:
    return MissingDependency("serving", "serve", e.name or str(e))
