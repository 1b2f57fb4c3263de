from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import isolate_from_machine
from tether.config import init_workspace
from tether.data import DataRepo
from tether.tracking.session import close_sessions, open_session


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh workspace (SQLite store, local objects) as the current folder."""
    root = tmp_path / "ws"
    root.mkdir()
    init_workspace(root, project="data")
    monkeypatch.chdir(root)
    isolate_from_machine(monkeypatch, tmp_path)
    yield root
    close_sessions()


@pytest.fixture
def repo(ws: Path) -> DataRepo:
    return DataRepo(open_session(ws).workspace, workers=4)


def write_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        p.write_bytes(content)
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() or p.is_symlink()
    }
