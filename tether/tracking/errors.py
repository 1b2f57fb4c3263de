"""The errors of the tracking layer."""

from __future__ import annotations

from tether.errors import TetherError


class ReproduceError(TetherError):
    """The run cannot be rebuilt (no commit, interactive, the repository is gone...)."""
