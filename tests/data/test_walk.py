"""The walk lists the same files with the same stats whether folders are listed through a
descriptor (POSIX) or by path (elsewhere), and fails the same way."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.data.conftest import write_tree
from tether.data.snapshot import fingerprint, fingerprint_columns
from tether.errors import InvalidInput
from tether.objects import walk


def _scan(path: Path, by_fd: bool, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    monkeypatch.setattr(walk, "_BY_FD", by_fd)
    return sorted(
        (f.path, f.source, f.stat.st_size, f.stat.st_mtime_ns, f.stat.st_ino, f.stat.st_mode)
        for f in walk.scan(str(path))
    )


def test_both_listings_find_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = write_tree(tmp_path / "d", {"a": "1", "b/c": "22", "b/e/f": "333", "g/h": "4444"})
    (d / "link-to-file").symlink_to("b/c")
    found = _scan(d, True, monkeypatch)
    assert found == _scan(d, False, monkeypatch)
    assert [f[0] for f in found] == ["a", "b/c", "b/e/f", "g/h", "link-to-file"]
    assert {f[0]: f[1] for f in found}["link-to-file"] == str(d / "b" / "c")


@pytest.mark.parametrize("by_fd", [True, False])
def test_both_listings_fail_the_same_way(
    tmp_path: Path, by_fd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = write_tree(tmp_path / "d", {"a": "1"})
    (d / "up").symlink_to(d)
    with pytest.raises(InvalidInput, match="makes a loop"):
        _scan(d, by_fd, monkeypatch)
    (d / "up").unlink()
    (d / "out").symlink_to(tmp_path)
    with pytest.raises(InvalidInput, match="points outside the data"):
        _scan(d, by_fd, monkeypatch)
    (d / "out").unlink()
    (d / "b").mkdir()
    (d / "again").symlink_to(d / "b")
    with pytest.raises(InvalidInput, match=r"symlink .*d/again points to the folder .*d/b, wh"):
        _scan(d, by_fd, monkeypatch)
    (d / "again").unlink()
    os.mkfifo(d / "pipe")
    with pytest.raises(InvalidInput, match="is not a regular file"):
        _scan(d, by_fd, monkeypatch)


def test_stat_columns_fingerprint_like_scan(tmp_path: Path) -> None:
    d = write_tree(
        tmp_path / "d",
        {f"{a}/{b}/f{i}": str(i) for a in "xyz" for b in "pq" for i in range(3)} | {"top": "t"},
    )
    past = time.time() - 60
    for p in [d, *d.rglob("*")]:
        os.utime(p, (past, past))
    columns = walk.stat_columns(str(d))
    assert columns is not None
    assert columns[0] == [f.path for f in walk.scan(str(d))]  # the same files, the same order
    assert fingerprint_columns(columns) == fingerprint(walk.scan(str(d))) is not None


def test_stat_columns_leave_links_and_special_files_to_scan(tmp_path: Path) -> None:
    d = write_tree(tmp_path / "d", {"a": "1", "b/c": "2"})
    assert walk.stat_columns(str(d / "a")) is None  # a single file
    assert walk.stat_columns(str(tmp_path / "nowhere")) is None
    (d / "b" / "link").symlink_to(d / "a")
    assert walk.stat_columns(str(d)) is None
    (d / "b" / "link").unlink()
    os.mkfifo(d / "b" / "pipe")
    assert walk.stat_columns(str(d)) is None
