"""Every CLI test runs in its own folder with a clean Tether environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import isolate_from_machine
from tether.cli.main import main
from tether.tracking.session import close_sessions


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Work in ``tmp_path``, with no ``TETHER_*`` variable and no user config of the machine."""
    monkeypatch.chdir(tmp_path)
    isolate_from_machine(monkeypatch, tmp_path)
    yield
    close_sessions()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace (project ``cli``) as the current folder."""
    from tether.config import init_workspace

    root = tmp_path / "ws"
    root.mkdir()
    init_workspace(root, project="cli")
    monkeypatch.chdir(root)
    return root


def run(*args: str) -> int:
    """``tether ARGS...`` in this process; its exit code."""
    try:
        main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0
