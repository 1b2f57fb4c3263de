"""A corrupted stored object never reaches the workspace: checkout hashes what it writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.data.conftest import read_tree, write_tree
from tether.data import (
    CorruptCheckout,
    DataRepo,
    add,
    cached_path,
    checkout,
    checkout_pointers,
    read_pointer,
    resolve,
    status,
)
from tether.objects.digest import hash_bytes
from tether.objects.errors import CorruptObject

BIG = os.urandom(1024 * 1024 + 5)  # over SMALL: stored as a loose file
SMALL = b"small file, packed " * 100


def _corrupt_loose(repo: DataRepo, digest: str) -> None:
    path = repo.objects.backend.path(digest)  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))


def _corrupt_packed(ws: Path, content: bytes) -> None:
    [pack] = (ws / ".tether" / "objects").rglob("*.pack")
    os.chmod(pack, 0o644)
    data = pack.read_bytes()
    at = data.index(content) + 3
    with open(pack, "r+b") as f:
        f.seek(at)
        f.write(bytes([data[at] ^ 0xFF]))


@pytest.fixture
def stored(repo: DataRepo, ws: Path) -> Path:
    write_tree(ws / "d", {"big.bin": BIG, "sub/small.txt": SMALL, "ok.txt": "fine"})
    add(repo, "d")
    return ws / "d"


@pytest.mark.parametrize("where", ["loose", "packed"])
def test_a_corrupt_object_is_named_and_never_written(
    repo: DataRepo, ws: Path, stored: Path, where: str
) -> None:
    if where == "loose":
        digest, rel = hash_bytes(BIG), "big.bin"
        _corrupt_loose(repo, digest)
    else:
        digest, rel = hash_bytes(SMALL), "sub/small.txt"
        _corrupt_packed(ws, SMALL)
    shutil.rmtree(stored)
    with pytest.raises(CorruptCheckout, match=rf"object {digest} .* so {stored / rel} was not"):
        checkout_pointers(repo)
    assert not stored.exists()
    assert [x for x in os.listdir(ws) if "tether-" in x] == []
    [s] = status(repo)
    assert s.missing  # nothing half-written, nothing recorded as clean
    with pytest.raises(CorruptCheckout):
        checkout(repo, "d@1", to=ws / "out")
    assert not (ws / "out").exists()
    with pytest.raises(CorruptCheckout):
        cached_path(repo, resolve(repo, "d@1"))  # tether.dataset("d@1").path()
    assert not (ws / ".tether" / "cache" / "datasets" / resolve(repo, "d@1").tree_digest).exists()
    with pytest.raises(CorruptObject, match=rf"{digest} .* so {ws / 'got' / rel} was not"):
        repo.objects.get_tree(resolve(repo, "d@1").tree_digest, ws / "got")
    assert [x for x in os.listdir(ws) if x.startswith(".got") or x == "got"] == []


def test_switching_versions_with_a_corrupt_object_leaves_data_and_pointer(
    repo: DataRepo, ws: Path, stored: Path
) -> None:
    (stored / "big.bin").unlink()
    (stored / "ok.txt").write_text("v2")
    add(repo, "d")
    before = read_tree(stored)
    _corrupt_loose(repo, hash_bytes(BIG))
    with pytest.raises(CorruptCheckout, match=r"big\.bin"):
        checkout(repo, "d@1")
    assert read_tree(stored) == before
    assert read_pointer(ws / "d.tether").version == 2
    for link in ("hardlink", "symlink"):
        with pytest.raises(CorruptCheckout):
            checkout(repo, "d@1", to=ws / link, link=link)  # type: ignore[arg-type]
        assert not (ws / link).exists()
