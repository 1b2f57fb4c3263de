"""Real git repositories in tmp_path, isolated from the user's and the system's git config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .gitrepo import Git, run_git


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No global/system git config, no walking up out of tmp_path into another repository."""
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def git() -> Git:
    return run_git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository (no commit yet) on branch ``main`` with a local identity."""
    path = tmp_path / "repo"
    path.mkdir()
    run_git(path, "init", "-q", "-b", "main")
    run_git(path, "config", "user.name", "Test")
    run_git(path, "config", "user.email", "test@example.com")
    run_git(path, "config", "commit.gpgsign", "false")
    return path


@pytest.fixture
def committed(repo: Path) -> Path:
    """``repo`` with one commit: a text file, a binary file, a file in a subfolder, .gitignore."""
    (repo / "train.py").write_text("lr = 0.1\nepochs = 3\n")
    (repo / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (repo / "src").mkdir()
    (repo / "src" / "model.py").write_text("class Model:\n    pass\n")
    (repo / ".gitignore").write_text("*.log\n/build/\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "first")
    return repo
