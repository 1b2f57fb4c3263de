"""Damaged stores: verify names every damaged copy and pack, a damaged pack blocks only its own
objects, puts store damaged objects again, and repair drops what is damaged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.objects.conftest import tamper
from tether.objects import ObjectNotFound, ObjectStore, hash_bytes
from tether.objects.errors import LostObject
from tether.objects.local import PACKABLE, LocalBackend
from tether.objects.pack import PACK_MAGIC


def _backend(store: ObjectStore) -> LocalBackend:
    assert isinstance(store.backend, LocalBackend)
    return store.backend


def _folder(path: Path, n: int, size: int = 300) -> dict[str, bytes]:
    """``n`` small files under ``path``; digest -> bytes."""
    out = {}
    for i in range(n):
        data = os.urandom(size)
        (path / f"f{i:03d}.bin").parent.mkdir(parents=True, exist_ok=True)
        (path / f"f{i:03d}.bin").write_bytes(data)
        out[hash_bytes(data)] = data
    return out


def _pack_of(store: ObjectStore, digest: str) -> Path:
    found = _backend(store).packs.locate(digest)
    assert found is not None
    return Path(found[0].pack_path)


def _writable(path: Path) -> Path:
    path.chmod(0o644)
    return path


@pytest.fixture
def two_packs(local_store: ObjectStore, tmp_path: Path) -> tuple[dict[str, bytes], ...]:
    """Two packs of 20 objects each, and one loose object."""
    first = _folder(tmp_path / "one", 20)
    local_store.put_tree(tmp_path / "one")
    second = _folder(tmp_path / "two", 20)
    local_store.put_tree(tmp_path / "two")
    big = os.urandom(PACKABLE + 10)
    local_store.put_bytes(big)
    assert len({_pack_of(local_store, d) for d in [*first, *second]}) == 2
    return first, second, {hash_bytes(big): big}


def _reads_all(store: ObjectStore, objects: dict[str, bytes]) -> None:
    for digest, data in objects.items():
        assert store.get_bytes(digest) == data


def test_a_missing_pack_blocks_only_its_own_objects(
    local_store: ObjectStore, tmp_path: Path, two_packs: tuple[dict[str, bytes], ...]
) -> None:
    first, second, loose = two_packs
    pack = _pack_of(local_store, next(iter(first)))
    pack.unlink()

    fresh = ObjectStore(local_store.url)
    _reads_all(fresh, second)
    _reads_all(fresh, loose)
    victim = next(iter(first))
    with pytest.raises(LostObject) as err:
        fresh.get_bytes(victim)
    assert isinstance(err.value, ObjectNotFound)  # a pull fetches it like any absent object
    assert str(pack) in str(err.value) and "tether objects repair" in str(err.value)
    assert fresh.missing([*first, *second, *loose]) == set(first)

    report = fresh.verify_all()
    assert report.lost == sorted(first) and report.corrupt == []
    assert list(report.packs) == [str(pack)] and "missing" in report.packs[str(pack)]

    # adding the data again stores the lost objects again
    fresh.put_tree(tmp_path / "one")
    _reads_all(ObjectStore(local_store.url), first)
    assert ObjectStore(local_store.url).verify_all().lost == []


def test_a_cut_short_pack_loses_only_the_objects_past_its_end(
    local_store: ObjectStore, tmp_path: Path, two_packs: tuple[dict[str, bytes], ...]
) -> None:
    first, second, _loose = two_packs
    pack = _writable(_pack_of(local_store, next(iter(first))))
    index = _backend(local_store).packs.locate(next(iter(first)))[0]  # type: ignore[index]
    cut = (len(PACK_MAGIC) + index.end) // 2
    os.truncate(pack, cut)
    kept = {
        index.digests[i].hex()
        for i in range(len(index))
        if index.offsets[i] + index.sizes[i] <= cut
    }
    gone = set(first) - kept
    assert kept and gone

    fresh = ObjectStore(local_store.url)
    _reads_all(fresh, {d: first[d] for d in kept})
    _reads_all(fresh, second)
    for digest in gone:
        with pytest.raises(LostObject, match=rf"{pack}.*cut short.*tether objects repair"):
            fresh.get_bytes(digest)
    assert fresh.missing([*first, *second]) == gone
    report = fresh.verify_all()
    assert (report.lost, report.corrupt, list(report.packs)) == (sorted(gone), [], [str(pack)])

    repaired = ObjectStore(local_store.url).repair()
    assert sorted(repaired.dropped) == sorted(gone)
    after = ObjectStore(local_store.url)
    assert after.verify_all().clean
    _reads_all(after, {d: first[d] for d in kept})
    assert after.missing(list(first)) == gone
    after.put_tree(tmp_path / "one")
    _reads_all(ObjectStore(local_store.url), first)


def test_a_damaged_index_blocks_only_its_own_pack(
    local_store: ObjectStore, tmp_path: Path, two_packs: tuple[dict[str, bytes], ...]
) -> None:
    first, second, loose = two_packs
    idx = _writable(_pack_of(local_store, next(iter(first))).with_suffix(".idx"))
    data = bytearray(idx.read_bytes())
    data[20] ^= 0xFF
    idx.write_bytes(bytes(data))

    fresh = ObjectStore(local_store.url)
    _reads_all(fresh, second)
    _reads_all(fresh, loose)
    assert set(fresh.list()) >= set(second) | set(loose)  # listing works
    with pytest.raises(LostObject, match=rf"{idx}.*checksum mismatch.*tether objects repair"):
        fresh.get_bytes(next(iter(first)))
    assert fresh.missing([*first, *second]) == set(first)
    report = fresh.verify_all()
    assert list(report.packs) == [str(idx)] and not report.clean

    repaired = ObjectStore(local_store.url).repair()
    assert repaired.packs == [str(idx)]
    assert not idx.exists() and not idx.with_suffix(".pack").exists()
    assert ObjectStore(local_store.url).verify_all().clean
    ObjectStore(local_store.url).put_tree(tmp_path / "one")
    _reads_all(ObjectStore(local_store.url), first)


def test_a_loose_object_of_the_wrong_size_is_stored_again(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    small = local_store.put_bytes(b"small object")
    big_data = os.urandom(PACKABLE + 10)
    big = local_store.put_bytes(big_data)
    for info in (small, big):
        _writable(Path(_backend(local_store).path(info.digest))).write_bytes(b"cut")

    fresh = ObjectStore(local_store.url)
    assert fresh.missing({small.digest: small.size, big.digest: big.size}) == {
        small.digest,
        big.digest,
    }
    with _backend(fresh).batch():  # in a batch too: the damaged loose copy is replaced
        assert fresh.put_bytes(b"small object") == small
    src = tmp_path / "src.bin"
    src.write_bytes(big_data)
    assert fresh.put_file(src) == big
    assert fresh.get_bytes(small.digest) == b"small object"
    assert Path(_backend(fresh).path(big.digest)).read_bytes() == big_data
    assert fresh.verify_all().clean


def test_verify_notes_damaged_copies_so_that_puts_store_them_again(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    packed = _folder(tmp_path / "src", 4)
    local_store.put_tree(tmp_path / "src")
    loose = local_store.put_bytes(b"a loose object")
    victim = next(iter(packed))
    tamper(local_store, victim, b"x")  # same size: only a re-hash finds it
    tamper(local_store, loose.digest, b"a LOOSE object")

    report = ObjectStore(local_store.url).verify_all()
    assert report.corrupt == sorted([victim, loose.digest])
    fresh = ObjectStore(local_store.url)
    assert fresh.missing([*packed, loose.digest]) == {victim, loose.digest}

    fresh.put_tree(tmp_path / "src")
    fresh.put_bytes(b"a loose object")
    after = ObjectStore(local_store.url)
    assert after.missing([*packed, loose.digest]) == set()
    _reads_all(after, {**packed, loose.digest: b"a loose object"})
    # the damaged packed copy is shadowed now, still damaged: repair drops it
    assert after.verify_all().corrupt == [victim]
    assert after.repair().dropped == [victim]
    assert ObjectStore(local_store.url).verify_all().clean
    _reads_all(ObjectStore(local_store.url), packed)


def test_repair_of_a_clean_store_changes_nothing(local_store: ObjectStore, tmp_path: Path) -> None:
    objects = _folder(tmp_path / "src", 5)
    local_store.put_tree(tmp_path / "src")
    packs = sorted(os.listdir(Path(local_store.url) / "packs"))
    report = local_store.repair()
    assert (report.dropped, report.packs) == ([], [])
    assert sorted(os.listdir(Path(local_store.url) / "packs")) == packs
    _reads_all(local_store, objects)


def test_a_pull_replaces_a_loose_copy_of_the_wrong_size(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    from tether.data.remote import plan_trees

    _folder(tmp_path / "src", 3)
    source = ObjectStore(str(tmp_path / "source"))
    tree = source.put_tree(tmp_path / "src")
    victim = source.read_tree(tree.digest).entries[0]
    data = source.get_bytes(victim.digest)
    local_store.put_bytes(data)  # loose (outside a batch)
    _writable(Path(_backend(local_store).path(victim.digest))).write_bytes(b"cut")

    fresh = ObjectStore(local_store.url)
    plan = plan_trees(source, fresh, {tree.digest: "src"}, pulling=True)
    assert victim.digest in plan.need_files
    plan.run()  # in a batch: the damaged loose copy is replaced, not hidden behind a pack
    assert ObjectStore(local_store.url).get_bytes(victim.digest) == data


@pytest.mark.s3
def test_repair_drops_corrupt_objects_from_a_bucket(s3_store: ObjectStore) -> None:
    good = s3_store.put_bytes(b"a good object")
    bad = s3_store.put_bytes(b"an object about to rot")
    backend: Any = s3_store.backend
    backend.fs.pipe(backend.key(bad.digest), b"rotten")

    assert s3_store.verify_all().corrupt == [bad.digest]
    assert s3_store.repair().dropped == [bad.digest]
    assert not s3_store.exists(bad.digest) and s3_store.exists(good.digest)
    assert s3_store.verify_all().clean
    assert s3_store.put_bytes(b"an object about to rot") == bad  # stored again
    assert s3_store.get_bytes(bad.digest) == b"an object about to rot"
