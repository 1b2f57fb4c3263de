"""A fresh workspace per test, tracked into SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tether.tracking.lifecycle as lifecycle
from tether.config import init_workspace
from tether.tracking.session import Session, close_sessions, open_session


@pytest.fixture
def workspace(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    init_workspace(root, project="proj")
    monkeypatch.chdir(root)
    for var in [v for v in os.environ if v.startswith("TETHER_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("TETHER_STORE_URL", store_url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    yield root
    for run in lifecycle.running():
        run.end("killed")
    close_sessions()


@pytest.fixture
def session(workspace: Path) -> Session:
    return open_session(workspace)


def run_script(
    code: str, cwd: Path, *args: str, check: bool = True, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` as a script file in ``cwd``, with this test's environment."""
    script = cwd / "script.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        raise AssertionError(f"script failed ({proc.returncode}):\n{proc.stderr}")
    return proc  # type: ignore[no-any-return]
