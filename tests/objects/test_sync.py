"""Transfers between a local folder and S3, both ways: only missing objects, verified."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tether.objects import CorruptObject, ObjectStore, expand_trees, transfer

pytestmark = pytest.mark.s3


def _tree(store: ObjectStore, root: Path) -> str:
    for i in range(12):
        path = root / f"d{i % 3}" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(1000 + i) if i != 11 else os.urandom(2 * 1024 * 1024))
    return store.put_tree(root).digest


def test_local_to_s3_and_back(
    local_store: ObjectStore, make_s3_store: Callable[[], ObjectStore], tmp_path: Path
) -> None:
    s3 = make_s3_store()
    tree = _tree(local_store, tmp_path / "src")
    loose = local_store.put_bytes(b"loose object").digest
    trees, files = expand_trees(local_store, [tree, loose])
    assert trees == {tree}
    assert len(files) == 13

    s3.put_bytes((tmp_path / "src" / "d0" / "f0.bin").read_bytes())  # already there
    report = transfer(local_store, s3, [tree, loose])
    assert (report.copied, report.skipped) == (13, 1)
    assert s3.missing(trees | files) == set()
    assert transfer(local_store, s3, [tree, loose]).copied == 0
    assert s3.verify_all().corrupt == []

    back = ObjectStore(str(tmp_path / "back"))
    seen: list[int] = []
    report = transfer(s3, back, [tree], progress=seen.append)
    assert (report.copied, report.skipped) == (13, 0)
    assert sum(seen) == report.bytes > 2 * 1024 * 1024  # bytes copied
    back.get_tree(tree, tmp_path / "out")
    for path in (tmp_path / "src").rglob("*.bin"):
        rel = path.relative_to(tmp_path / "src")
        assert (tmp_path / "out" / rel).read_bytes() == path.read_bytes()
    assert back.verify_all().ok == 13


def test_corrupt_source_is_not_copied(
    local_store: ObjectStore, s3_store: ObjectStore, tmp_path: Path
) -> None:
    info = s3_store.put_bytes(b"original bytes")
    s3_store.backend.fs.pipe_file(s3_store.backend.key(info.digest), b"tampered bytes")  # type: ignore[attr-defined]
    with pytest.raises(CorruptObject) as err:
        transfer(s3_store, local_store, [info.digest])
    assert info.digest in str(err.value)
    assert not local_store.exists(info.digest)

    good = local_store.put_bytes(b"local original")
    assert local_store.local is not None
    path = local_store.local.local_path(good.digest)
    assert path
    os.chmod(path, 0o644)
    Path(path).write_bytes(b"local tampered")
    with pytest.raises(CorruptObject):
        transfer(local_store, s3_store, [good.digest])
    assert not s3_store.exists(good.digest)
