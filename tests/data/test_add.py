from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.data.conftest import write_tree
from tether.data import (
    DataRepo,
    FileChanged,
    OutsideWorkspace,
    UnreadableFile,
    add,
    read_pointer,
    resolve,
)
from tether.errors import InvalidInput
from tether.store import ObjectRecord


def test_add_folder_versions_and_dedups(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "imgs", {"a.txt": "a", "sub/b.txt": "bb"})
    first = add(repo, "imgs", message="first")
    assert first.created and first.version.version == 1
    assert (first.version.file_count, first.version.total_size) == (2, 3)
    tree = repo.objects.read_tree(first.version.tree_digest)
    assert [e.path for e in tree.entries] == ["a.txt", "sub/b.txt"]
    assert repo.store.get_object_record(first.version.tree_digest).kind == "tree"

    again = add(repo, "imgs")
    assert not again.created and again.version.version == 1

    (ws / "imgs" / "a.txt").write_text("changed")
    second = add(repo, "imgs", message="second")
    assert second.created and second.version.version == 2
    assert resolve(repo, "imgs").version == 2
    assert resolve(repo, "imgs@1").tree_digest == first.version.tree_digest


def test_add_file_is_a_tree_of_one_entry(repo: DataRepo, ws: Path) -> None:
    (ws / "t.csv").write_text("x,y\n1,2\n")
    r = add(repo, "t.csv", name="table")
    assert r.kind == "file" and r.version.dataset == "table"
    [entry] = repo.objects.read_tree(r.version.tree_digest).entries
    assert entry.path == "t.csv" and entry.size == 8
    p = read_pointer(ws / "t.csv.tether")
    assert (p.name, p.version, p.kind) == ("table", 1, "file")


def test_pointer_and_gitignore(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "raw" / "imgs", {"a": "1"})
    (ws / "raw" / ".gitignore").write_text("*.log")
    r = add(repo, "raw/imgs")
    text = (ws / "raw" / "imgs.tether").read_text()
    assert text.startswith("# Written by tether")
    assert f'tree = "{r.version.tree_digest}"' in text and "files = 1" in text
    add(repo, "raw/imgs")
    assert (ws / "raw" / ".gitignore").read_text() == "*.log\n/imgs\n"


def test_path_outside_workspace(repo: DataRepo, tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "elsewhere", {"a": "1"})
    with pytest.raises(OutsideWorkspace, match="outside the workspace"):
        add(repo, outside)
    with pytest.raises(OutsideWorkspace):
        add(repo, "../elsewhere")
    with pytest.raises(OutsideWorkspace, match=r"\.tether"):
        add(repo, ".tether/config.toml")
    (Path.cwd() / "link").symlink_to(outside)
    with pytest.raises(OutsideWorkspace):
        add(repo, "link")


def test_missing_path(repo: DataRepo) -> None:
    with pytest.raises(InvalidInput, match=r"no file or folder at .*nope"):
        add(repo, "nope")


def _nothing_recorded(repo: DataRepo) -> None:
    assert repo.store.list_datasets(repo.project) == []
    assert not list(repo.objects.list())
    assert not [p for p in repo.workspace.root.glob("*.tether") if p.is_file()]


def test_symlink_loop(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    (ws / "d" / "loop").symlink_to(ws / "d")
    with pytest.raises(InvalidInput, match="loop"):
        add(repo, "d")
    os.unlink(ws / "d" / "loop")
    (ws / "d" / "self").symlink_to("self")
    with pytest.raises(InvalidInput, match="loop"):
        add(repo, "d")
    _nothing_recorded(repo)


def test_special_file(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    os.mkfifo(ws / "d" / "pipe")
    with pytest.raises(InvalidInput, match=r"d/pipe is not a regular file"):
        add(repo, "d")
    _nothing_recorded(repo)


def test_unreadable_file(repo: DataRepo, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(ws / "d", {f"f{i}": str(i) for i in range(200)})
    real_open = os.open

    def deny(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("f77"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(UnreadableFile, match=r"cannot read .*d/f77 \(Permission denied\); fix"):
        add(repo, "d")
    assert repo.store.list_datasets(repo.project) == []
    assert not (ws / "d.tether").exists()
    assert not list((ws / ".tether" / "objects" / "tmp").iterdir())


def test_file_changing_while_hashed(
    repo: DataRepo, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(ws / "d", {"a": "1", "b": "2"})
    from tether.objects import ingest

    real = ingest.hash_bytes
    touches = iter(range(1, 100))

    def touching(data: bytes) -> str:  # a writer that touches b while each pass reads it
        if data == b"2":
            n = next(touches)
            os.utime(ws / "d" / "b", ns=(n, n))
        return real(data)

    monkeypatch.setattr(ingest, "hash_bytes", touching)
    with pytest.raises(FileChanged, match=r"d/b changed while it was being hashed on each of 3"):
        add(repo, "d")
    assert next(touches) == 4  # three attempts, then a clear failure
    assert repo.store.list_datasets(repo.project) == []
    assert not (ws / "d.tether").exists()


def test_file_replaced_once_while_hashed_is_hashed_again(
    repo: DataRepo, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that replaces a file while add reads another: the version is the folder after
    the write (never a mix), found by walking again."""
    write_tree(ws / "d", {"a": "1", "b": "2"})
    from tether.objects import ingest

    real = ingest.hash_bytes
    once = [True]

    def replacing(data: bytes) -> str:
        if data == b"1" and once:
            once.clear()
            (ws / "d" / "b.new").write_text("two")
            os.replace(ws / "d" / "b.new", ws / "d" / "b")  # a new inode, as a checkout makes
        return real(data)

    monkeypatch.setattr(ingest, "hash_bytes", replacing)
    r = add(repo, "d")
    tree = repo.objects.read_tree(r.version.tree_digest)
    assert {e.path: e.size for e in tree.entries} == {"a": 1, "b": 3}


def test_stat_cache_skips_unchanged_files(
    repo: DataRepo, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(ws / "d", {f"f{i}": str(i) for i in range(50)})
    # coarse timestamps that are recent are not trusted; make these old and sub-second
    for p in (ws / "d").iterdir():
        os.utime(p, ns=(1_000_000_123, 1_000_000_123))
    assert add(repo, "d").hashed == 50
    from tether.objects import ingest

    calls: list[int] = []  # files read and hashed
    real = ingest.hash_bytes
    monkeypatch.setattr(ingest, "hash_bytes", lambda data: calls.append(1) or real(data))
    fresh = DataRepo(repo.workspace)
    (ws / "d" / "f3").write_text("new")
    r = add(fresh, "d")
    assert r.hashed == 1 and len(calls) == 1 and r.version.version == 2


def test_objects_missing_from_store_are_stored_again(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    r = add(repo, "d")
    [entry] = repo.objects.read_tree(r.version.tree_digest).entries
    repo.objects.delete(entry.digest)
    fresh = DataRepo(repo.workspace)
    add(fresh, "d")
    assert repo.objects.exists(entry.digest)
    repo.store.record_objects([ObjectRecord(entry.digest, 1)])


def test_empty_folder_and_exec_bit(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"run.sh": "#!/bin/sh\n"})
    os.chmod(ws / "d" / "run.sh", 0o755)
    r = add(repo, "d")
    [entry] = repo.objects.read_tree(r.version.tree_digest).entries
    assert entry.mode == 0o755
    (ws / "empty").mkdir()
    assert add(repo, "empty").version.file_count == 0
