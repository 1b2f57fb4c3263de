"""Status recognises an unchanged folder by its stat fingerprint, and never misses a change."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import pytest

from tether.data import DataRepo, add, status

# the package re-exports the function `status`, which hides the module of the same name
status_module = importlib.import_module("tether.data.changes")


def _old(path: Path) -> None:
    """Give every file an mtime safely in the past (recent whole-second mtimes are not trusted)."""
    past = time.time() - 60
    for p in [path, *path.rglob("*")]:
        os.utime(p, (past, past))


@pytest.fixture
def folder(repo: DataRepo, ws: Path) -> Path:
    data = ws / "imgs"
    (data / "a").mkdir(parents=True)
    for i in range(20):
        (data / "a" / f"{i}.bin").write_bytes(os.urandom(100))
    _old(data)
    add(repo, data)
    return data


def _loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = status_module.load_index

    def counting(objects, digest):  # type: ignore[no-untyped-def]
        calls.append(digest)
        return real(objects, digest)

    monkeypatch.setattr(status_module, "load_index", counting)
    return calls


def test_unchanged_folder_needs_no_manifest(
    repo: DataRepo, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = _loads(monkeypatch)
    [st] = status(repo)
    assert st.clean and loads == []


@pytest.mark.parametrize("change", ["edit_same_size", "add", "remove", "chmod", "replace"])
def test_every_change_is_seen(
    repo: DataRepo, folder: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = folder / "a" / "3.bin"
    if change == "edit_same_size":
        target.write_bytes(os.urandom(100))
        past = time.time() - 30
        os.utime(target, (past, past))
    elif change == "add":
        (folder / "a" / "new.bin").write_bytes(b"new")
    elif change == "remove":
        target.unlink()
    elif change == "chmod":
        target.chmod(0o755)
    else:
        data = target.read_bytes()
        target.unlink()
        (folder / "a" / "tmp").write_bytes(data)
        (folder / "a" / "tmp").rename(target)  # same bytes, new inode
    loads = _loads(monkeypatch)
    [st] = status(repo)
    assert loads, "a changed folder must be compared with its tree"
    if change == "replace":
        assert st.clean  # content is the same: clean, and remembered again
        assert status(repo)[0].clean and len(loads) == 1
    else:
        assert not st.clean
