"""Errors of the continuous-training controller (``tether.automation``)."""

from __future__ import annotations

from tether.errors import ConfigError, NotFound, TetherError


class InvalidLoopPolicy(ConfigError):
    """A ``[loop.NAME]`` table is wrong; the message names the key."""

    def __init__(self, key: str, message: str, source: str | None = None) -> None:
        self.key = key
        where = f" in {source}" if source else ""
        super().__init__(f"{key}{where}: {message}")


class LoopNotFound(NotFound):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        hint = f"known loops: {', '.join(known)}" if known else "no [loop.NAME] table is defined"
        super().__init__(f"no loop {name!r} in the policy; {hint}")


class TrainingFailed(TetherError):
    """The loop's pipeline failed, or finished without logging a version of the model."""
