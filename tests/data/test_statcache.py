from __future__ import annotations

import os
from pathlib import Path

from tether.data.statcache import NoStatCache, StatCache, cacheable


def _stat(path: Path) -> os.stat_result:
    os.utime(path, ns=(1_500_000_001, 1_500_000_001))
    return os.stat(path)


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
