"""The conformance suite: every backend (local folder, S3) passes the same tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tether.objects import (
    CorruptObject,
    InvalidDigest,
    NotATree,
    ObjectNotFound,
    ObjectStore,
    hash_bytes,
    hash_file,
)

ABSENT = "0" * 64


def test_put_get_round_trip(store: ObjectStore) -> None:
    info = store.put_bytes(b"hello tether")
    assert info.digest == hash_bytes(b"hello tether")
    assert info.size == 12
    assert store.get_bytes(info.digest) == b"hello tether"
    assert store.exists(info.digest)
    assert store.info(info.digest) == info
    with store.open(info.digest) as f:
        assert f.read() == b"hello tether"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=4096))
def test_any_bytes_round_trip(store: ObjectStore, data: bytes) -> None:
    # gcp-storage-emulator drops a lone trailing b"\r" of an upload (its multipart parser; real
    # GCS keeps it): Tether's size check catches that, see the test below
    assume(not (store.url.startswith("gs://") and data.endswith(b"\r") and data[-2:] != b"\r\n"))
    info = store.put_bytes(data)
    assert info.digest == hash_bytes(data)
    assert store.get_bytes(info.digest) == data


@pytest.mark.gcs
def test_an_upload_the_service_shortens_is_caught(gcs_store: ObjectStore) -> None:
    with pytest.raises(CorruptObject, match="expected size 2 after upload, found size 1"):
        gcs_store.put_bytes(b"a\r")  # the emulator's bug above stands in for a faulty service
    assert gcs_store.missing([hash_bytes(b"a\r")])


def test_empty_object(store: ObjectStore, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    info = store.put_file(empty)
    assert info.size == 0
    assert store.get_bytes(info.digest) == b""


def test_local_capabilities_are_declared_only_by_a_folder(store: ObjectStore) -> None:
    """What only a local folder can do is one declared interface, found by ``store.local``."""
    from tether.objects.base import LocalCapabilities

    if "://" in store.url and not store.url.startswith("file://"):
        assert store.local is None and not store.is_local
        return
    assert isinstance(store.local, LocalCapabilities) and store.is_local
    info = store.put_bytes(b"loose")
    path = store.local.local_path(info.digest)
    assert path is not None and Path(path).read_bytes() == b"loose"
    assert store.local.loose_path(info.digest) == path


def test_put_file_small_and_large(store: ObjectStore, tmp_path: Path) -> None:
    for size in (10, 3 * 1024 * 1024 + 7):
        src = tmp_path / f"f{size}"
        src.write_bytes(os.urandom(size))
        seen: list[int] = []
        info = store.put_file(src, progress=seen.append)
        assert info == hash_file(src)
        assert sum(seen) == size
        dest = tmp_path / "out" / f"f{size}"
        dest.parent.mkdir(exist_ok=True)
        store.get_file(info.digest, dest)
        assert dest.read_bytes() == src.read_bytes()
        assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")]


def test_identical_content_stored_once(store: ObjectStore, tmp_path: Path) -> None:
    a = store.put_bytes(b"same")
    (tmp_path / "same").write_bytes(b"same")
    b = store.put_file(tmp_path / "same")
    assert a == b
    assert list(store.list()) == [a.digest]


def test_put_existing_does_not_write(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put_bytes(b"once")

    def fail(*args: object) -> None:
        raise AssertionError("an existing object was written again")

    monkeypatch.setattr(store.backend, "write_bytes", fail)
    store.put_bytes(b"once")


def test_list_and_missing(store: ObjectStore) -> None:
    digests = {store.put_bytes(str(i).encode()).digest for i in range(40)}
    assert set(store.list()) == digests
    assert store.missing(digests) == set()
    absent = {hash_bytes(f"absent {i}".encode()) for i in range(40)}
    assert store.missing(digests | absent) == absent


def test_missing_many_uses_batches(store: ObjectStore) -> None:
    present = {store.put_bytes(f"p{i}".encode()).digest for i in range(30)}
    # Many digests under a few fan-out folders: answered by listing those folders.
    crowded = {f"{p:02x}" + hash_bytes(f"a{i}".encode())[2:] for p in range(4) for i in range(300)}
    crowded.add(next(iter(present))[:2] + "f" * 62)
    assert store.missing(present | crowded) == crowded


def test_not_found_names_digest_and_store(store: ObjectStore, tmp_path: Path) -> None:
    for call in (
        lambda: store.get_bytes(ABSENT),
        lambda: store.open(ABSENT),
        lambda: store.info(ABSENT),
        lambda: store.verify(ABSENT),
        lambda: store.get_file(ABSENT, tmp_path / "x"),
    ):
        with pytest.raises(ObjectNotFound) as err:
            call()
        assert ABSENT in str(err.value)
        assert store.url in str(err.value)
    assert not (tmp_path / "x").exists()
    assert not store.exists(ABSENT)


@pytest.mark.parametrize("bad", ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65, 42, None])
def test_invalid_digest(store: ObjectStore, bad: object) -> None:
    with pytest.raises(InvalidDigest):
        store.get_bytes(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidDigest):
        store.exists(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidDigest):
        store.missing([bad])  # type: ignore[list-item]


def _make_folder(root: Path) -> dict[str, bytes]:
    files = {
        "README.md": b"# data\n",
        "a/b/c/deep.bin": os.urandom(5000),
        "a/b/run.sh": b"#!/bin/sh\necho hi\n",
        "a/copy.txt": b"# data\n",
        "big.bin": os.urandom(2 * 1024 * 1024 + 3),
        "empty": b"",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "a/b/run.sh").chmod(0o755)
    return files


def test_tree_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    files = _make_folder(tmp_path / "src")
    seen: list[int] = []
    info = store.put_tree(tmp_path / "src", progress=seen.append)
    assert info.count == len(files)
    assert info.size == sum(len(v) for v in files.values()) == sum(seen)
    tree = store.read_tree(info.digest)
    assert [e.path for e in tree.entries] == sorted(files)
    modes = {e.path: e.mode for e in tree.entries}
    assert modes["a/b/run.sh"] == 0o755
    assert modes["README.md"] == 0o644
    # identical files are one object
    assert len(set(store.list())) == len(files) - 1 + 1
    store.get_tree(info.digest, tmp_path / "out")
    for rel, data in files.items():
        assert (tmp_path / "out" / rel).read_bytes() == data
    assert os.stat(tmp_path / "out/a/b/run.sh").st_mode & 0o111
    assert not os.stat(tmp_path / "out/README.md").st_mode & 0o111
    # same folder again: same digest, nothing new
    before = set(store.list())
    assert store.put_tree(tmp_path / "out").digest == info.digest
    assert set(store.list()) == before


def test_read_tree_of_plain_object(store: ObjectStore) -> None:
    info = store.put_bytes(b"not a tree")
    with pytest.raises(NotATree) as err:
        store.read_tree(info.digest)
    assert info.digest in str(err.value)


def test_verify_and_verify_all(store: ObjectStore) -> None:
    infos = [store.put_bytes(f"v{i}".encode()) for i in range(5)]
    assert store.verify(infos[0].digest) == infos[0]
    seen: list[int] = []
    report = store.verify_all(progress=seen.append)
    assert report.ok == 5
    assert report.corrupt == []
    assert sum(seen) == 5


def test_open_is_streaming(store: ObjectStore) -> None:
    data = os.urandom(3 * 1024 * 1024)
    info = store.put_bytes(data)
    with store.open(info.digest) as f:
        parts = []
        while chunk := f.read(100_000):
            parts.append(chunk)
    assert b"".join(parts) == data


def test_delete(store: ObjectStore) -> None:
    info = store.put_bytes(b"gone soon")
    store.delete(info.digest)
    assert not store.exists(info.digest)
    store.delete(info.digest)


def test_many_small_objects_in_one_call(store: ObjectStore) -> None:
    blobs = {hash_bytes(b): b for b in (b"one", b"two", b"", b"x" * 5000)}
    store.backend.write_many(blobs)
    assert all(store.get_bytes(d) == b for d, b in blobs.items())
    assert store.backend.read_many(list(blobs)) == blobs
    assert store.backend.read_many([]) == {}
    with pytest.raises(ObjectNotFound, match=ABSENT):
        store.backend.read_many([next(iter(blobs)), ABSENT])
