from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether.data import statcache
from tether.data.statcache import NoStatCache, StatCache, cacheable


def _stat(path: Path) -> os.stat_result:
    os.utime(path, ns=(1_500_000_001, 1_500_000_001))
    return os.stat(path)


def _stats(folder: Path, n: int) -> list[os.stat_result]:
    """Stats of ``n`` new files in ``folder``, with mtimes old enough to be cached."""
    stats = []
    for i in range(n):
        f = folder / f"f{i}"
        f.write_text(str(i))
        stats.append(_stat(f))
    return stats


def test_round_trip_and_invalidation(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    st = _stat(f)
    cache = StatCache(tmp_path / "cache" / "stat.v1")
    assert cache.get(st) is None
    cache.put(st, "d" * 64)
    cache.save()
    again = StatCache(tmp_path / "cache" / "stat.v1")
    assert again.get(st) == "d" * 64
    f.write_text("xy")
    assert again.get(os.stat(f)) is None


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "stat.v1"
    path.write_bytes(b"garbage" * 100)
    f = tmp_path / "f"
    f.write_text("x")
    cache = StatCache(path)
    st = _stat(f)
    assert cache.get(st) is None
    cache.put(st, "a" * 64)
    cache.save()
    assert StatCache(path).get(st) == "a" * 64


def test_recent_whole_second_mtime_is_not_cached(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    now = 1_700_000_000_000_000_000
    os.utime(f, ns=(now, now))
    assert not cacheable(os.stat(f), now_ns=now + 1)
    assert cacheable(os.stat(f), now_ns=now + 10_000_000_000)


def test_no_stat_cache_caches_nothing(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    c = NoStatCache()
    c.put(os.stat(f), "a" * 64)
    assert c.get(os.stat(f)) is None


def test_forgotten_entries_leave_the_file(tmp_path: Path) -> None:
    st_a, st_b = _stats(tmp_path, 2)
    path = tmp_path / "stat.v1"
    cache = StatCache(path)
    cache.put(st_a, "a" * 64)
    cache.put(st_b, "b" * 64)
    cache.save()
    later = StatCache(path)
    later.forget(st_a)
    assert later.get(st_a) is None
    later.save()
    reread = StatCache(path)
    assert reread.get(st_a) is None and reread.get(st_b) == "b" * 64


def test_a_checkout_forgets_the_files_it_replaced(tmp_path: Path) -> None:
    from tether.data.materialize import materialize
    from tether.objects import ObjectStore

    objects = ObjectStore(str(tmp_path / "objects"))
    for version, text in (("v1", "old"), ("v2", "new")):
        (tmp_path / version).mkdir()
        (tmp_path / version / "f.txt").write_text(text)
        (tmp_path / version / "same.txt").write_text("same")
    v1 = objects.read_tree(objects.put_tree(tmp_path / "v1").digest)
    v2 = objects.read_tree(objects.put_tree(tmp_path / "v2").digest)
    cache = StatCache(tmp_path / "stat.v1")
    out = tmp_path / "out"
    materialize(objects, v1, out, cache=cache)
    os.utime(out / "f.txt", ns=(1_500_000_001, 1_500_000_001))  # old enough to be cached
    os.utime(out / "same.txt", ns=(1_500_000_001, 1_500_000_001))
    old, same = os.stat(out / "f.txt"), os.stat(out / "same.txt")
    cache.put(old, v1.entries[0].digest)
    cache.put(same, v1.entries[1].digest)
    cache.save()

    cache = StatCache(tmp_path / "stat.v1")
    materialize(objects, v2, out, cache=cache)
    cache.save()
    rows = StatCache(tmp_path / "stat.v1")
    assert rows.get(old) is None  # its file was replaced and deleted
    assert rows.get(os.stat(out / "same.txt")) == v2.entries[1].digest  # kept: same inode
    assert os.stat(out / "same.txt").st_ino == same.st_ino


def test_the_cache_keeps_the_most_recently_written_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "KEEP_ENTRIES", 4)
    files = _stats(tmp_path, 6)
    path = tmp_path / "stat.v1"
    cache = StatCache(path)
    for i, st in enumerate(files):
        cache.put(st, str(i) * 64)
    cache.save()  # 6 entries written by one command: all kept (twice what it wrote)
    assert all(StatCache(path).get(st) == str(i) * 64 for i, st in enumerate(files))

    later = StatCache(path)
    later.put(files[0], "a" * 64)  # rewritten: now the most recent
    later.save()
    kept = StatCache(path)
    assert kept.get(files[0]) == "a" * 64
    assert [kept.get(st) is not None for st in files[1:]] == [False, False, True, True, True]


def test_a_save_keeps_what_another_command_saved_meanwhile(tmp_path: Path) -> None:
    st_a, st_b = _stats(tmp_path, 2)
    path = tmp_path / "stat.v1"
    first, second = StatCache(path), StatCache(path)
    assert first.get(st_a) is None  # first has read the (empty) cache
    second.put(st_b, "b" * 64)
    second.save()  # replaces the file first read
    first.put(st_a, "a" * 64)
    first.save()
    merged = StatCache(path)
    assert merged.get(st_a) == "a" * 64 and merged.get(st_b) == "b" * 64


def test_put_many_is_put_of_each(tmp_path: Path) -> None:
    """The bulk put of `data add`: the same entries as one put each, racy mtimes left out."""
    old = _stats(tmp_path, 3)
    racy = tmp_path / "racy"
    racy.write_text("r")
    now_s = int(os.stat(racy).st_mtime)
    os.utime(racy, ns=(now_s * 1_000_000_000, now_s * 1_000_000_000))
    pairs = [(st, f"{i}" * 64) for i, st in enumerate([*old, os.stat(racy)])]
    bulk, single = StatCache(tmp_path / "a" / "stat.v1"), StatCache(tmp_path / "b" / "stat.v1")
    bulk.put_many(pairs)
    for st, digest in pairs:
        single.put(st, digest)
    bulk.save()
    single.save()
    for cache in (StatCache(tmp_path / "a" / "stat.v1"), StatCache(tmp_path / "b" / "stat.v1")):
        assert [cache.get(st) for st, _ in pairs] == ["0" * 64, "1" * 64, "2" * 64, None]
    NoStatCache().put_many(pairs)  # caches nothing, accepts the same call
