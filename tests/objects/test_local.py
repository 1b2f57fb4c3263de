"""Local-folder specifics: atomic writes, permissions, corruption, streaming, symlinks."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

import tether.objects.local as local_mod
from tether.errors import InvalidInput
from tether.objects import (
    CorruptObject,
    ObjectsNotWritable,
    ObjectStore,
    SourceChanged,
    hash_bytes,
    hash_file,
)
from tether.objects.local import LocalBackend


def _backend(store: ObjectStore) -> LocalBackend:
    assert isinstance(store.backend, LocalBackend)
    return store.backend


def _litter(store: ObjectStore) -> list[str]:
    return os.listdir(os.path.join(_backend(store).root, "tmp"))


def test_layout(local_store: ObjectStore) -> None:
    info = local_store.put_bytes(b"layout")
    path = Path(_backend(local_store).root) / info.digest[:2] / info.digest[2:]
    assert path.read_bytes() == b"layout"
    assert len([p for p in Path(_backend(local_store).root).iterdir() if p.name != "tmp"]) == 256


class Crash(Exception):
    pass


def _crash(*args: object) -> None:
    raise Crash("simulated crash before the rename")


@pytest.mark.parametrize("size", [100, 2 * 1024 * 1024])
def test_crash_mid_write_leaves_nothing(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(size))
    digest = hash_file(src).digest
    monkeypatch.setattr(local_mod.os, "replace", _crash)
    with pytest.raises(Crash):
        local_store.put_file(src)
    monkeypatch.undo()
    assert not local_store.exists(digest)
    assert _litter(local_store) == []
    assert local_store.put_file(src).digest == digest
    assert local_store.verify(digest).size == size


def test_crash_mid_tree_leaves_nothing(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(20):
        (tmp_path / "src" / str(i % 3)).mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / str(i % 3) / f"f{i}").write_bytes(os.urandom(100))
    monkeypatch.setattr(local_mod.os, "replace", _crash)
    with pytest.raises(Crash):
        local_store.put_tree(tmp_path / "src")
    monkeypatch.undo()
    assert list(local_store.list()) == []
    assert _litter(local_store) == []


def test_source_changing_mid_copy_is_detected(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(2 * 1024 * 1024))
    real_copy = local_mod.copy_fd

    def copy_while_appending(src_fd: int, out_fd: int, size: int) -> int:
        with open(src, "ab") as f:
            f.write(b"more")
        return real_copy(src_fd, out_fd, size)

    monkeypatch.setattr(local_mod, "copy_fd", copy_while_appending)
    with pytest.raises(SourceChanged, match=r"src\.bin"):
        local_store.put_file(src)
    assert list(local_store.list()) == []
    assert _litter(local_store) == []


def test_not_writable_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = ObjectStore(str(blocker / "objects"))
    with pytest.raises(ObjectsNotWritable) as err:
        store.put_bytes(b"x")
    assert str(blocker / "objects") in str(err.value)
    assert "Not a directory" in str(err.value)


def test_not_writable_read_only_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    monkeypatch.setattr(local_mod.os, "access", lambda *a, **k: False)
    with pytest.raises(ObjectsNotWritable, match="permission denied"):
        store.put_bytes(b"x")


def _corrupt(store: ObjectStore, digest: str) -> None:
    path = _backend(store).path(digest)
    os.chmod(path, 0o644)
    data = bytearray(Path(path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(path).write_bytes(bytes(data))


def test_corruption_is_detected(local_store: ObjectStore, tmp_path: Path) -> None:
    good = local_store.put_bytes(b"good object")
    bad = local_store.put_bytes(os.urandom(3 * 1024 * 1024))
    _corrupt(local_store, bad.digest)

    with pytest.raises(CorruptObject) as err:
        local_store.verify(bad.digest)
    assert bad.digest in str(err.value)
    assert "expected digest" in str(err.value)

    report = local_store.verify_all()
    assert (report.ok, report.corrupt) == (1, [bad.digest])
    assert local_store.verify(good.digest) == good

    dest = tmp_path / "out" / "file.bin"
    dest.parent.mkdir()
    with pytest.raises(CorruptObject):
        local_store.get_file(bad.digest, dest)
    assert list(dest.parent.iterdir()) == []

    with pytest.raises(CorruptObject):
        local_store.get_bytes(bad.digest)
    with pytest.raises(CorruptObject), local_store.open(bad.digest) as f:
        f.read()


def test_put_file_streams(local_store: ObjectStore, tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            f.write(block)
    tracemalloc.start()
    try:
        info = local_store.put_file(src)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == size
    assert peak < 8 * 1024 * 1024, f"put_file used {peak} bytes for a {size}-byte file"
    tracemalloc.start()
    try:
        local_store.get_file(info.digest, tmp_path / "copy.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_symlinks(local_store: ObjectStore, tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "real.txt").write_bytes(b"real")
    (root / "link.txt").symlink_to("sub/real.txt")
    (root / "linked-dir").symlink_to("sub")
    info = local_store.put_tree(root)
    paths = {e.path: e.digest for e in local_store.read_tree(info.digest).entries}
    assert paths == dict.fromkeys(
        ["link.txt", "linked-dir/real.txt", "sub/real.txt"], hash_bytes(b"real")
    )

    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    (root / "escape").symlink_to(outside)
    with pytest.raises(InvalidInput, match="outside the folder"):
        local_store.put_tree(root)
    (root / "escape").unlink()

    (root / "sub" / "loop").symlink_to("..")
    with pytest.raises(InvalidInput, match="loop"):
        local_store.put_tree(root)
    (root / "sub" / "loop").unlink()

    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")
    with pytest.raises(InvalidInput, match="loop"):
        local_store.put_tree(root)
    (root / "a").unlink()
    (root / "b").unlink()

    (root / "broken").symlink_to("nowhere")
    with pytest.raises(InvalidInput, match="broken"):
        local_store.put_tree(root)
