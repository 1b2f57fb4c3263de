"""A fresh workspace per test with the loop project of kit.py; its store on SQLite and
PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tether.tracking.lifecycle as lifecycle
from tests.support import isolate_from_machine
from tether.config import init_workspace
from tether.tracking.session import close_sessions

from .kit import make_project


def _forget_project_modules() -> None:
    for name in [m for m in sys.modules if m == "loopproj" or m.startswith("loopproj.")]:
        del sys.modules[name]


@pytest.fixture
def ws(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    pytest.importorskip("sklearn")
    root = tmp_path / "ws"
    init_workspace(root, project="proj")
    make_project(root)
    monkeypatch.chdir(root)
    isolate_from_machine(monkeypatch, tmp_path)
    monkeypatch.setenv("TETHER_STORE_URL", store_url)
    monkeypatch.syspath_prepend(str(root))
    _forget_project_modules()
    yield root
    _forget_project_modules()
    for run in lifecycle.running():
        run.end("killed")
    close_sessions()
