"""Errors of the demo."""

from __future__ import annotations

from tether.errors import TetherError


class DemoFailed(TetherError):
    """A step of the demo did not do what it should (the message says which)."""
