"""Local-folder specifics: atomic writes, permissions, corruption, streaming, symlinks."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

import tether.objects.copy as copy_mod
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
    names = [p.name for p in Path(_backend(local_store).root).iterdir()]
    assert len([n for n in names if n not in ("tmp", "owners")]) == 256


class Crash(Exception):
    """Stands for a process killed in the middle of a write."""


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


def test_source_changing_mid_transfer_copy_is_detected(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash-first path (a copy between stores) still checks the source after copying."""
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(2 * 1024 * 1024))
    st = os.stat(src)
    digest = hash_file(src).digest
    real_copy = local_mod.copy_fd

    def copy_while_appending(src_fd: int, out_fd: int, size: int) -> int:
        with open(src, "ab") as f:
            f.write(b"more")
        return real_copy(src_fd, out_fd, size)

    monkeypatch.setattr(local_mod, "copy_fd", copy_while_appending)
    with pytest.raises(SourceChanged, match=r"src\.bin"):
        _backend(local_store).write_file(digest, str(src), st)
    assert list(local_store.list()) == []
    assert _litter(local_store) == []


SMALL_CHUNK = 1024 * 1024


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copy_mod, "PUT_CHUNK", SMALL_CHUNK)


@pytest.mark.parametrize("direct", [False, True], ids=["buffered", "o_direct"])
def test_single_pass_multi_chunk(
    local_store: ObjectStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    small_chunks: None,
    direct: bool,
) -> None:
    monkeypatch.setattr(local_mod, "DIRECT_MIN", 0 if direct else 1 << 62)
    data = os.urandom(20 * SMALL_CHUNK + 123)  # an unaligned tail after 20 full chunks
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    seen: list[int] = []
    info = local_store.put_file(src, progress=seen.append)
    assert info.digest == hash_bytes(data)
    assert info.size == len(data)
    assert sum(seen) == len(data) and len(seen) == 21
    assert Path(_backend(local_store).path(info.digest)).read_bytes() == data
    assert local_store.verify(info.digest) == info
    assert _litter(local_store) == []


@pytest.mark.parametrize("size", [SMALL_CHUNK - 1, 5 * SMALL_CHUNK])
def test_put_of_a_stored_digest_keeps_the_object_and_leaves_no_litter(
    local_store: ObjectStore, tmp_path: Path, small_chunks: None, size: int
) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(size))
    first = local_store.put_file(src)
    stored = os.stat(_backend(local_store).path(first.digest))
    copy = tmp_path / "copy.bin"
    copy.write_bytes(src.read_bytes())
    assert local_store.put_file(copy) == first
    again = os.stat(_backend(local_store).path(first.digest))
    assert (again.st_ino, again.st_mtime_ns) == (stored.st_ino, stored.st_mtime_ns)
    assert list(local_store.list()) == [first.digest]
    assert _litter(local_store) == []


def test_source_changing_during_single_pass_is_detected(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(4 * SMALL_CHUNK))
    real_read = copy_mod._read_full
    calls = 0

    def read_then_append(fd: int, view: memoryview) -> int:
        nonlocal calls
        n = real_read(fd, view)
        calls += 1
        if calls == 1:
            with open(src, "ab") as f:
                f.write(b"appended while being stored")
        return n

    monkeypatch.setattr(copy_mod, "_read_full", read_then_append)
    with pytest.raises(SourceChanged, match=r"src\.bin"):
        local_store.put_file(src)
    assert list(local_store.list()) == []
    assert _litter(local_store) == []


def test_source_rewritten_in_place_is_detected(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    """Same size, new mtime: the stored bytes may mix old and new, so nothing is stored."""
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 * SMALL_CHUNK))
    real_read = copy_mod._read_full

    def read_then_touch(fd: int, view: memoryview) -> int:
        n = real_read(fd, view)
        st = os.stat(src)
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        return n

    monkeypatch.setattr(copy_mod, "_read_full", read_then_touch)
    with pytest.raises(SourceChanged):
        local_store.put_file(src)
    assert list(local_store.list()) == []
    assert _litter(local_store) == []


def test_write_error_in_single_pass_leaves_nothing(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(6 * SMALL_CHUNK))
    real_write = os.write
    writes = 0

    def failing_write(fd: int, data: bytes | memoryview) -> int:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(copy_mod.os, "write", failing_write)
    with pytest.raises(ObjectsNotWritable, match="No space left"):
        local_store.put_file(src)
    monkeypatch.undo()
    assert list(local_store.list()) == []
    assert _litter(local_store) == []


def test_o_direct_refused_by_a_write_falls_back_to_buffered(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    # the filesystem's answer to O_DIRECT is simulated too, so this runs on any filesystem:
    # direct mode "turns on", the first write is refused, the copy must go on buffered
    switches: list[bool] = []

    def set_direct(fd: int, on: bool) -> bool:
        switches.append(on)
        return True

    monkeypatch.setattr(copy_mod, "set_direct", set_direct)
    monkeypatch.setattr(local_mod, "DIRECT_MIN", 0)
    data = os.urandom(3 * SMALL_CHUNK)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    real_write = os.write
    refused = 0

    def refuse_first(fd: int, view: bytes | memoryview) -> int:
        nonlocal refused
        if not refused:
            refused += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, view)

    monkeypatch.setattr(copy_mod.os, "write", refuse_first)
    info = local_store.put_file(src)
    monkeypatch.undo()
    assert refused == 1
    assert switches[:1] == [True] and False in switches  # turned on, then off after refusal
    assert Path(_backend(local_store).path(info.digest)).read_bytes() == data


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(owner, name)

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(owner, name, counting)
    return calls


@pytest.mark.parametrize("fsync", [False, True])
def test_fsync_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None, fsync: bool
) -> None:
    store = ObjectStore(str(tmp_path / "objects"), workers=4, fsync=fsync)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * SMALL_CHUNK))
    fsyncs = _count_calls(monkeypatch, os, "fsync")
    syncfs = _count_calls(monkeypatch, local_mod, "_syncfs")

    info = store.put_file(big)
    small = store.put_bytes(b"small object")
    # fsync: the object file and its fan-out folder, for each of the two puts
    assert len(fsyncs) == (4 if fsync else 0)
    assert syncfs == []

    fsyncs.clear()
    folder = tmp_path / "tree"
    folder.mkdir()
    for i in range(5):
        (folder / f"f{i}").write_bytes(os.urandom(100 + i))
    (folder / "big").write_bytes(os.urandom(2 * SMALL_CHUNK))
    tree = store.put_tree(folder)
    # a batch: one filesystem sync for the bytes, one for the renames, no fsync per object
    assert len(syncfs) == (2 if fsync else 0)
    assert len(fsyncs) == (2 if fsync else 0)  # only the tree manifest, put outside the batch
    for digest in (info.digest, small.digest, tree.digest):
        assert store.verify(digest)
    assert _litter(store) == []


def test_put_file_peak_rss(tmp_path: Path) -> None:
    """A 256 MiB put, in a fresh process, grows the resident set by far less than the file."""
    size = 256 * 1024 * 1024
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(size // len(block)):
            f.write(block[i:] + block[:i])
    script = (
        "import resource, sys\n"
        "from tether.objects import ObjectStore\n"
        "store = ObjectStore(sys.argv[1])\n"
        "store.put_bytes(b'warm up')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "info = store.put_file(sys.argv[2])\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(info.size, (after - before) * 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "objects"), str(src)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert int(out[0]) == size
    assert int(out[1]) < 64 * 1024 * 1024, f"put_file grew RSS by {out[1]} bytes"


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
    # each real folder once (the walk of `tether data add`): a chain of links cannot blow up
    with pytest.raises(InvalidInput, match=r"points to the folder .* already part of the folder"):
        local_store.put_tree(root)
    (root / "linked-dir").unlink()
    info = local_store.put_tree(root)
    paths = {e.path: e.digest for e in local_store.read_tree(info.digest).entries}
    assert paths == dict.fromkeys(["link.txt", "sub/real.txt"], hash_bytes(b"real"))

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
