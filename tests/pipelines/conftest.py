"""A fresh workspace per test, and pipeline modules written to files and imported fresh."""

from __future__ import annotations

import itertools
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import tether.tracking.lifecycle as lifecycle
from tests.support import isolate_from_machine
from tether.config import init_workspace
from tether.pipelines.loader import load_file
from tether.tracking.session import close_sessions

_counter = itertools.count()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    init_workspace(root, project="proj")
    monkeypatch.chdir(root)
    isolate_from_machine(monkeypatch, tmp_path)
    saved_path = list(sys.path)
    yield root
    sys.path[:] = saved_path
    for run in lifecycle.running():
        run.end("killed")
    close_sessions()


WriteModule = Callable[..., ModuleType]


@pytest.fixture
def write_module(workspace: Path) -> WriteModule:
    """Write ``code`` to ``<name>.py`` in the workspace and import it as a fresh module."""

    def write(code: str, name: str = "flows") -> ModuleType:
        path = workspace / f"{name}.py"
        path.write_text(textwrap.dedent(code))
        module_name = f"{name}_{os.getpid()}_{next(_counter)}"
        return load_file(path, module_name)

    return write


@pytest.fixture(params=["inline", "processes"])
def executor(request: pytest.FixtureRequest) -> str:
    return str(request.param)
