"""Helpers shared by the test packages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def isolate_from_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``TETHER_*`` variable, no user settings (``XDG_CONFIG_HOME`` under ``tmp_path``)
    and no git repository above ``tmp_path``: a test sees none of the machine it runs on."""
    for var in [v for v in os.environ if v.startswith("TETHER_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
