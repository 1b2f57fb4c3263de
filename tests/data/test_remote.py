"""Push and pull against a local-folder remote and a real S3-protocol server (moto); the
round trip also against the GCS and Azure Blob emulators (gcp-storage-emulator, Azurite)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import tether.objects.sync as sync
from tests.objects.conftest import tamper
from tether.config.remotes import Remote
from tether.data.errors import BadReference
from tether.data.remote import (
    NotInWorkspace,
    NotOnRemote,
    open_remote,
    plan_push,
    pull,
    push,
    push_trees,
)
from tether.errors import StorageError
from tether.objects import CorruptObject, ObjectStore
from tether.store import DatasetNotFound, DatasetVersion, Store, open_store

PROJECT = "p"
BUCKET = "tether-remote-test"


class Crash(BaseException):
    """Stands for Ctrl-C or a killed process in the middle of a transfer."""


@pytest.fixture(scope="module")
def s3_endpoint(s3_bucket: Callable[[str], str]) -> str:
    """The shared moto server (tests/conftest.py) with this suite's bucket."""
    return s3_bucket(BUCKET)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials come from the environment, as they would for a user."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def meta(sqlite_store_url: str) -> Iterator[Store]:
    store = open_store(sqlite_store_url)
    store.get_or_create_project(PROJECT)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def local(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "objects"), workers=4)


LOCAL_AND_S3 = ["local", pytest.param("s3", marks=pytest.mark.s3)]
EVERY_SERVICE = [
    *LOCAL_AND_S3,
    pytest.param("gcs", marks=pytest.mark.gcs),
    pytest.param("azure", marks=pytest.mark.azure),
]


@pytest.fixture(params=LOCAL_AND_S3)
def make_remote(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., ObjectStore]:
    """Opens the same remote (a folder, or a prefix of a bucket) each time it is called.

    GCS and Azure get their endpoint and credentials from the environment, as a user's would.
    """
    prefix = uuid.uuid4().hex
    if request.param == "local":
        remote = Remote("origin", str(tmp_path / "remote"))
    elif request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        request.getfixturevalue("aws_env")
        remote = Remote("origin", f"s3://{BUCKET}/{prefix}", endpoint)
    elif request.param == "gcs":
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", request.getfixturevalue("gcs_bucket")(BUCKET))
        remote = Remote("origin", f"gs://{BUCKET}/{prefix}")
    else:
        connection_string = request.getfixturevalue("azure_container")(BUCKET)
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string)
        remote = Remote("origin", f"az://{BUCKET}/{prefix}")
    return lambda fsync=False: open_remote(remote, workers=8, fsync=fsync)


def make_version(
    meta: Store, objects: ObjectStore, folder: Path, name: str, files: dict[str, bytes]
) -> DatasetVersion:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    tree = objects.put_tree(folder)
    return meta.create_dataset_version(
        PROJECT, name, tree_digest=tree.digest, file_count=tree.count, total_size=tree.size
    )


def files(n: int, tag: str, size: int = 100) -> dict[str, bytes]:
    return {f"part/{i:03d}.bin": (f"{tag}-{i}-".encode() * size)[:size] for i in range(n)}


def contents(objects: ObjectStore) -> set[str]:
    return set(objects.list())


def record_writes(store: ObjectStore, crash_at: int | None = None) -> list[str]:
    """Count the objects ``store`` writes; with ``crash_at``, crash on that write."""
    written: list[str] = []
    calls = [0]
    lock = threading.Lock()
    backend: Any = store.backend
    for method in ("write_file", "write_stream", "write_bytes"):
        real = getattr(backend, method)

        def wrapped(digest: str, *args: Any, _real: Any = real) -> Any:
            with lock:
                calls[0] += 1
                if calls[0] == crash_at:
                    raise Crash()
            result = _real(digest, *args)
            with lock:
                written.append(digest)
            return result

        setattr(backend, method, wrapped)
    if store.is_local:  # its write_many calls write_bytes, counted above
        return written
    real_many = backend.write_many

    def write_many(objects: dict[str, bytes]) -> None:
        """A batch: the objects before the crash land, the rest do not."""
        done: dict[str, bytes] = {}
        crashed = False
        for digest, data in objects.items():
            with lock:
                calls[0] += 1
                crashed = calls[0] == crash_at
            if crashed:
                break
            done[digest] = data
        real_many(done)
        with lock:
            written.extend(done)
        if crashed:
            raise Crash()

    backend.write_many = write_many
    return written


@pytest.mark.parametrize("make_remote", EVERY_SERVICE, indirect=True)
def test_push_then_pull_into_a_fresh_store_round_trips(
    meta: Store, local: ObjectStore, make_remote: Callable[..., ObjectStore], tmp_path: Path
) -> None:
    v1 = make_version(meta, local, tmp_path / "a1", "images", files(6, "a1"))
    v2 = make_version(meta, local, tmp_path / "a2", "images", {**files(6, "a1"), "new": b"x"})
    t1 = make_version(meta, local, tmp_path / "t1", "table", {"t.csv": b"a,b\n1,2\n"})
    remote = make_remote()

    progress: list[int] = []
    report = push(meta, local, remote, PROJECT, progress=progress.append)
    # the latest of each dataset: images@2 (7 files + tree) and table@1 (1 file + tree), and
    # the tree of images@1 (history, for log and diff in a clone) without its files
    assert (report.copied, report.skipped) == (11, 0)
    assert sum(progress) == report.bytes
    assert {v1.tree_digest, v2.tree_digest, t1.tree_digest} <= contents(remote)

    again = push(meta, local, make_remote(), PROJECT)
    assert (again.copied, again.skipped, again.bytes) == (0, 11, 0)
    older = push(meta, local, remote, PROJECT, ["images"], all_versions=True)
    assert (older.copied, older.skipped) == (0, 9)  # 7 files and 2 trees, all there already
    assert contents(remote) == contents(local)

    # a teammate with the same metadata and an empty object store
    fresh = ObjectStore(str(tmp_path / "fresh"), workers=4)
    pulled = pull(meta, fresh, make_remote(), PROJECT, ["images@1", "table"])
    assert (pulled.copied, pulled.skipped) == (6 + 1 + 1 + 1, 0)
    assert pull(meta, fresh, make_remote(), PROJECT, ["images@1", "table"]).copied == 0
    pulled = pull(meta, fresh, make_remote(), PROJECT, all_versions=True)
    assert (pulled.copied, pulled.skipped) == (2, 9)  # images@2: the new file and its tree
    assert contents(fresh) == contents(local)
    assert fresh.verify_all().corrupt == []
    for version, folder in [(v1, "a1"), (v2, "a2"), (t1, "t1")]:
        out = tmp_path / "out" / folder
        fresh.get_tree(version.tree_digest, out)
        src = tmp_path / folder
        assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == {
            p.relative_to(src): p.read_bytes() for p in src.rglob("*") if p.is_file()
        }


@pytest.mark.parametrize("direction", ["push", "pull"])
def test_interrupted_transfer_resumes_without_copying_twice(
    meta: Store,
    local: ObjectStore,
    make_remote: Callable[..., ObjectStore],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    direction: str,
) -> None:
    # with fsync a local folder commits each chunk at once: an interruption rolls back the
    # chunk in flight; without it (and on S3) every object lands as soon as it is written
    monkeypatch.setattr(sync, "CHUNK_OBJECTS", 4)
    version = make_version(meta, local, tmp_path / "d", "big", files(30, "big", 3000))
    if direction == "pull":
        push(meta, local, make_remote(), PROJECT)
        src, dst = make_remote(), ObjectStore(str(tmp_path / "fresh"), workers=4, fsync=True)
    else:
        src, dst = local, make_remote(fsync=True)
    transfer = push if direction == "push" else pull

    def run(local_store: ObjectStore, remote_store: ObjectStore) -> Any:
        return transfer(meta, local_store, remote_store, PROJECT)

    def stores(d: ObjectStore) -> tuple[ObjectStore, ObjectStore]:
        return (local, d) if direction == "push" else (d, src)

    record_writes(dst, crash_at=10)
    with pytest.raises(Crash):
        run(*stores(dst))

    dst = make_remote(fsync=True) if direction == "push" else ObjectStore(dst.url, fsync=True)
    landed = contents(dst)
    assert version.tree_digest not in landed  # files go before the tree that lists them
    assert 0 < len(landed) < 31
    if dst.local is not None:
        assert len(landed) == 8  # two whole chunks of 4; the third was rolled back
        assert os.listdir(Path(dst.url) / "tmp") == []  # no temporary file left
    assert dst.verify_all().corrupt == []  # nothing half-written under a digest

    written = record_writes(dst)
    report = run(*stores(dst))
    assert set(written).isdisjoint(landed)
    assert len(written) == len(set(written)) == report.copied == 31 - len(landed)
    assert report.skipped == len(landed)
    assert contents(dst) == contents(local)
    assert dst.verify_all().corrupt == []


def test_errors_name_the_version_and_the_fix(
    meta: Store, local: ObjectStore, make_remote: Callable[..., ObjectStore], tmp_path: Path
) -> None:
    version = make_version(meta, local, tmp_path / "d", "ds", files(3, "d"))
    remote = make_remote()
    with pytest.raises(NotOnRemote, match=r"dataset ds@1 is not on the remote .*tether data push"):
        pull(meta, ObjectStore(str(tmp_path / "fresh")), remote, PROJECT)
    with pytest.raises(DatasetNotFound, match="'nope'"):
        push(meta, local, remote, PROJECT, ["nope"])
    with pytest.raises(BadReference, match="NAME@VERSION"):
        push(meta, local, remote, PROJECT, ["ds@x"])

    member = local.read_tree(version.tree_digest).entries[0].digest
    local.delete(member)
    with pytest.raises(NotInWorkspace, match=r"dataset ds@1 is not complete .*1 of its objects"):
        push(meta, local, remote, PROJECT)
    assert contents(remote) == set()  # it failed before copying anything
    local.delete(version.tree_digest)
    with pytest.raises(NotInWorkspace, match="dataset ds@1"):
        push(meta, local, remote, PROJECT)
    assert push_trees(local, remote, []).copied == 0


def test_a_corrupt_remote_object_is_not_pulled(
    meta: Store, local: ObjectStore, tmp_path: Path
) -> None:
    version = make_version(meta, local, tmp_path / "d", "ds", files(3, "d"))
    remote = open_remote(Remote("r", str(tmp_path / "remote")), workers=2)
    push(meta, local, remote, PROJECT)
    victim = local.read_tree(version.tree_digest).entries[1].digest
    tamper(remote, victim, b"bit rot")
    fresh = ObjectStore(str(tmp_path / "fresh"), workers=2)
    with pytest.raises(CorruptObject, match=victim):
        pull(meta, fresh, remote, PROJECT)
    assert not fresh.exists(victim) and not fresh.exists(version.tree_digest)


@pytest.mark.parametrize("size", [100, 1_500_000])  # hashed in memory / while it is copied
def test_a_corrupt_local_object_is_not_pushed(
    meta: Store,
    local: ObjectStore,
    make_remote: Callable[..., ObjectStore],
    tmp_path: Path,
    size: int,
) -> None:
    version = make_version(
        meta, local, tmp_path / "d", "ds", {"a.bin": b"a" * size, "b.bin": b"b" * size}
    )
    victim = next(e.digest for e in local.read_tree(version.tree_digest).entries)
    tamper(local, victim, b"x" * size)  # same size, other bytes: only the digest can tell
    remote = make_remote()
    with pytest.raises(CorruptObject, match=victim):
        push(meta, local, remote, PROJECT)
    assert not remote.exists(victim) and not remote.exists(version.tree_digest)


def test_unusable_remotes_fail_with_a_storage_error(
    meta: Store, local: ObjectStore, tmp_path: Path
) -> None:
    make_version(meta, local, tmp_path / "d", "ds", files(2, "d"))
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(StorageError, match="cannot write to the object store"):
        push(meta, local, open_remote(Remote("r", str(not_a_folder))), PROJECT)


@pytest.mark.s3
def test_unreachable_or_missing_bucket(
    meta: Store, local: ObjectStore, tmp_path: Path, s3_endpoint: str, aws_env: None
) -> None:
    make_version(meta, local, tmp_path / "d", "ds", files(2, "d"))
    down = open_remote(Remote("r", "s3://b/p", "http://127.0.0.1:9"), workers=2)
    with pytest.raises(StorageError, match="Could not connect"):
        push(meta, local, down, PROJECT)
    no_bucket = open_remote(Remote("r", "s3://no-such-bucket/p", s3_endpoint), workers=2)
    with pytest.raises(StorageError, match="bucket exists"):
        push(meta, local, no_bucket, PROJECT)


def test_push_writes_version_records_that_a_fresh_store_registers(
    meta: Store,
    local: ObjectStore,
    make_remote: Callable[..., ObjectStore],
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    import shutil

    from tether.data.pointer import write_pointer
    from tether.data.remote_records import RemoteRecords

    run = meta.create_run(PROJECT)
    v1 = make_version(meta, local, tmp_path / "a1", "images", files(2, "a1"))
    v2 = meta.create_dataset_version(
        PROJECT,
        "images",
        tree_digest=local.put_tree(tmp_path / "a1").digest,  # same tree, another version
        file_count=v1.file_count,
        total_size=v1.total_size,
        message="again ✓",
        run_id=run.id,
    )
    remote = make_remote()
    push(meta, local, remote, PROJECT, all_versions=True)
    assert RemoteRecords(remote).history(PROJECT, "images") == {1: v1, 2: v2}
    assert RemoteRecords(remote).history(PROJECT, "never pushed") == {}
    again = plan_push(meta, local, make_remote(), PROJECT, all_versions=True)
    assert (again.to_copy, again.records) == (0, {})  # pushing again writes nothing

    # a clone: an empty metadata store and object store, and the pointer git gave it
    shutil.copyfile(sqlite_template, tmp_path / "clone.db")
    clone = open_store(f"sqlite:///{tmp_path / 'clone.db'}")
    try:
        fresh = ObjectStore(str(tmp_path / "fresh"), workers=4)
        pointer = write_pointer(
            tmp_path / "ws" / "images",
            name="images",
            version=2,
            kind="folder",
            tree=v2.tree_digest,
            files=v2.file_count,
            size=v2.total_size,
        )
        report = pull(clone, fresh, make_remote(), PROJECT, pointers=[pointer])
        assert report.copied == 3  # two files and the tree both versions share
        # the run that made v2 is not in this store: registered without it
        assert clone.list_dataset_versions(PROJECT, "images") == [v1, replace(v2, run_id=None)]
    finally:
        clone.close()
    # in the store that has the run, a pull registers nothing and keeps everything
    assert pull(meta, local, make_remote(), PROJECT, ["images@2"]).copied == 0
    assert meta.list_dataset_versions(PROJECT, "images") == [v1, v2]


def test_record_keys_are_safe_for_any_dataset_name() -> None:
    from datetime import UTC, datetime

    from tether.data.remote_records import decode, encode, record_path

    for name in ["../../etc", "a/b", "ü name", ".", "x" * 250]:
        path = record_path("p", name, 3)
        folder, key, leaf = path.split("/")
        assert (folder, len(key), leaf) == ("datasets", 64, "3.json")
        v = DatasetVersion("p", name, 3, "a" * 64, 1, 2, "ü", None, datetime.now(UTC))
        assert decode(encode(v), path, project="p", dataset=name, version=3) == v
