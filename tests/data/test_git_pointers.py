from __future__ import annotations

import subprocess
from pathlib import Path

from tests.data.conftest import read_tree, write_tree
from tether.data import DataRepo, add, checkout_pointers, find_pointers, status


def git(ws: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=ws,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_git_checkout_then_data_checkout_restores_the_data(repo: DataRepo, ws: Path) -> None:
    git(ws, "init", "-q", "-b", "main")
    write_tree(ws / "data" / "imgs", {"a": "v1-a", "b/c": "v1-c"})
    add(repo, "data/imgs")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "v1")
    tracked = git(ws, "ls-files").split()
    assert "data/imgs.tether" in tracked and "data/.gitignore" in tracked
    assert not any(t.startswith("data/imgs/") for t in tracked)  # the data stays out of git

    write_tree(ws / "data" / "imgs", {"a": "v2-a", "d": "v2-d"})
    add(repo, "data/imgs")
    git(ws, "commit", "-q", "-am", "v2")
    assert "version = 2" in (ws / "data" / "imgs.tether").read_text()

    git(ws, "checkout", "-q", "HEAD~1")
    [s] = status(repo)
    assert s.pointer.version == 1 and not s.clean
    assert (s.added, s.modified) == (["d"], ["a"])
    checkout_pointers(repo)
    assert read_tree(ws / "data" / "imgs") == {"a": b"v1-a", "b/c": b"v1-c"}
    assert status(repo)[0].clean
    assert git(ws, "status", "--porcelain") == ""

    git(ws, "checkout", "-q", "main")
    checkout_pointers(repo)
    assert read_tree(ws / "data" / "imgs") == {"a": b"v2-a", "b/c": b"v1-c", "d": b"v2-d"}


def test_find_pointers_skips_data_folders(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"inner/x.tether": "not a pointer: inside tracked data"})
    add(repo, "d")
    assert [p.name for p in find_pointers(ws)] == ["d"]
