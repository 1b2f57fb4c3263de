"""Packs: small objects written in a batch land in one file, and read like loose ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tether.objects.pack as pack_mod
from tests.objects.conftest import tamper
from tether.objects import CorruptObject, ObjectStore, hash_bytes
from tether.objects.errors import LostObject
from tether.objects.local import PACKABLE, LocalBackend


def _backend(store: ObjectStore) -> LocalBackend:
    assert isinstance(store.backend, LocalBackend)
    return store.backend


def _packs(store: ObjectStore) -> list[str]:
    folder = Path(_backend(store).root) / "packs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _loose(store: ObjectStore) -> list[str]:
    root = Path(_backend(store).root)
    return [d.name + p.name for d in root.iterdir() if len(d.name) == 2 for p in d.iterdir()]


def _packed(store: ObjectStore, tmp_path: Path, n: int) -> dict[str, bytes]:
    """``n`` small files stored as a folder (so packed); digest -> bytes."""
    files = _folder(tmp_path / "src", n)
    store.put_tree(tmp_path / "src")
    return {hash_bytes(data): data for data in files.values()}


def _folder(path: Path, n: int, size: int = 200) -> dict[str, bytes]:
    files = {f"d{i % 4}/f{i:03d}.bin": os.urandom(size) for i in range(n)}
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return files


def test_a_folder_of_small_files_is_one_pack(local_store: ObjectStore, tmp_path: Path) -> None:
    files = _folder(tmp_path / "src", 50)
    (tmp_path / "src" / "big.bin").write_bytes(os.urandom(PACKABLE + 1))
    tree = local_store.put_tree(tmp_path / "src")

    assert [n.rsplit(".", 1)[1] for n in _packs(local_store)] == ["idx", "pack"]
    big = hash_bytes((tmp_path / "src" / "big.bin").read_bytes())
    assert sorted(_loose(local_store)) == sorted([big, tree.digest])  # too big; outside the batch
    assert len(set(local_store.list())) == 50 + 1 + 1

    digests = {hash_bytes(data): data for data in files.values()}
    for digest, data in digests.items():
        assert local_store.get_bytes(digest) == data
        assert local_store.open(digest).read() == data
        assert local_store.info(digest).size == len(data)
        assert local_store.exists(digest)
    assert local_store.missing([*digests, "0" * 64]) == {"0" * 64}
    assert local_store.verify_all().corrupt == []

    out = tmp_path / "out"
    local_store.get_tree(tree.digest, out)
    for rel, data in files.items():
        assert (out / rel).read_bytes() == data


def test_a_pack_is_visible_elsewhere_only_once_the_batch_ends(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    other = ObjectStore(local_store.url)
    backend = _backend(local_store)
    with backend.batch():
        info = local_store.put_bytes(b"in the batch")
        assert local_store.get_bytes(info.digest) == b"in the batch"  # this store sees it
        assert not other.exists(info.digest)  # another one does not, yet
        assert _packs(local_store) == []
    assert other.get_bytes(info.digest) == b"in the batch"

    # a pack committed by another process is found by a read right after
    code = (
        "import sys; from tether.objects import ObjectStore\n"
        "s = ObjectStore(sys.argv[1])\n"
        "with s.backend.batch():\n"
        "    print(s.put_bytes(b'from a child').digest)\n"
    )
    for _ in range(3):  # several commits within one tick of the folder's mtime
        out = subprocess.run(
            [sys.executable, "-c", code, local_store.url], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert other.get_bytes(out.stdout.strip()) == b"from a child"


def test_a_pack_whose_writeback_starts_early_reads_back_whole(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writeback started every kilobyte (on a duplicate descriptor, from another thread) while
    the pack grows, is sealed and renamed: every object reads back, no descriptor is left."""
    import time

    def open_packs() -> list[str]:
        if not os.path.isdir("/proc/self/fd"):
            return []
        found = []
        for n in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{n}")
            except OSError:
                continue
            if target.startswith(str(tmp_path)) and "pack" in os.path.basename(target):
                found.append(target)
        return found

    monkeypatch.setattr(pack_mod, "STEP", 1_000)
    files = _folder(tmp_path / "src", 60, size=700)
    tree = local_store.put_tree(tmp_path / "src")
    deadline = time.monotonic() + 10  # the thread closes each duplicate once its call returns
    while open_packs() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert open_packs() == []
    if sys.platform.startswith("linux"):  # where writeback is started at all
        import threading

        assert "tether-writeback" in {t.name for t in threading.enumerate()}
    fresh = ObjectStore(local_store.url)  # another reader: only what reached the files
    for data in files.values():
        assert fresh.get_bytes(hash_bytes(data)) == data
    assert {e.path for e in fresh.read_tree(tree.digest).entries} == set(files)


def test_an_interrupted_batch_keeps_only_full_packs(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pack_mod, "PACK_LIMIT", 2_000)
    backend = _backend(local_store)
    written = []

    class Stop(Exception):
        """The interruption, raised mid-batch."""

    with pytest.raises(Stop), backend.batch():
        for i in range(25):
            written.append(local_store.put_bytes(os.urandom(300) + bytes([i])))
        raise Stop

    committed = set(ObjectStore(local_store.url).list())
    assert len(_packs(local_store)) == 2 * 3  # three packs of ~2,000 bytes, the rest dropped
    assert committed == {w.digest for w in written[: len(committed)]}
    assert 15 <= len(committed) < 25
    assert os.listdir(Path(backend.root) / "tmp") == []  # the open pack is removed
    assert local_store.verify_all().corrupt == []


def test_a_damaged_index_is_a_clear_error(local_store: ObjectStore, tmp_path: Path) -> None:
    _folder(tmp_path / "src", 5)
    local_store.put_tree(tmp_path / "src")
    idx = next(Path(_backend(local_store).root, "packs").glob("*.idx"))
    idx.chmod(0o644)
    data = bytearray(idx.read_bytes())
    data[20] ^= 0xFF
    idx.write_bytes(bytes(data))
    fresh = ObjectStore(local_store.url)
    assert list(fresh.list()) != []  # the other objects still list (see test_damage.py)
    with pytest.raises(LostObject, match=r"pack-.*\.idx is damaged \(checksum mismatch;"):
        fresh.get_bytes(hash_bytes((tmp_path / "src" / "d0" / "f000.bin").read_bytes()))


def test_a_tampered_packed_object_is_caught(local_store: ObjectStore, tmp_path: Path) -> None:
    victim = next(iter(_packed(local_store, tmp_path, 5)))
    assert _backend(local_store).local_path(victim) is None  # packed, not loose
    tamper(local_store, victim, b"x")
    with pytest.raises(CorruptObject, match=victim):
        local_store.get_bytes(victim)
    assert local_store.verify_all().corrupt == [victim]


def test_delete_rewrites_the_pack_without_the_object(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    objects = _packed(local_store, tmp_path, 6)
    victim, *others = objects
    before = _packs(local_store)
    local_store.delete(victim)
    assert not local_store.exists(victim)
    assert not ObjectStore(local_store.url).exists(victim)
    for digest in others:
        assert local_store.get_bytes(digest) == objects[digest]
    assert _packs(local_store) != before and len(_packs(local_store)) == 2


def test_link_checkouts_unpack_objects_first(local_store: ObjectStore, tmp_path: Path) -> None:
    from tether.data.materialize import materialize

    files = _folder(tmp_path / "src", 4)
    tree = local_store.read_tree(local_store.put_tree(tmp_path / "src").digest)
    for link in ("hardlink", "symlink"):
        out = tmp_path / link
        materialize(local_store, tree, out, link=link)  # type: ignore[arg-type]
        for rel, data in files.items():
            assert (out / rel).read_bytes() == data
            assert (out / rel).stat().st_mode & 0o222 == 0  # read-only: edits would corrupt
    assert len(_loose(local_store)) >= 4  # the linked objects have files of their own


def test_a_pack_rewritten_by_another_store_is_found_again(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    objects = _packed(local_store, tmp_path, 6)
    victim, kept, *_ = objects
    reader = ObjectStore(local_store.url)
    assert reader.exists(kept)  # the reader now knows the pack, but has not opened it
    ObjectStore(local_store.url).delete(victim)  # rewrites that pack under a new name
    assert reader.get_bytes(kept) == objects[kept]
    assert not reader.exists(victim)


def test_a_pack_without_its_index_is_removed_once_old(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    objects = _packed(local_store, tmp_path, 3)
    packs = _backend(local_store).packs
    orphan = Path(packs.folder) / ("pack-" + "a" * 64 + ".pack")
    orphan.write_bytes(pack_mod.PACK_MAGIC + b"its writer died before renaming the index")
    # a writer renames the index right after the pack: a fresh orphan may be a live one's
    assert packs.remove_orphans(min_age_s=3600) == 0 and orphan.exists()
    assert packs.remove_orphans(min_age_s=0) == 1 and not orphan.exists()
    assert len(_packs(local_store)) == 2  # the real pack and its index are kept
    for digest, data in objects.items():
        assert ObjectStore(local_store.url).get_bytes(digest) == data
