from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.data.conftest import read_tree, write_tree
from tether.data import (
    DataRepo,
    NoPointer,
    NotEnoughSpace,
    UnsafeDestination,
    WorkWouldBeLost,
    add,
    checkout,
    checkout_pointers,
    read_pointer,
    status,
)
from tether.objects import export as data_copy

V1 = {"a.txt": "one", "sub/b.txt": "bee", "sub/c.txt": "sea", "gone.txt": "x"}
V2 = {"a.txt": "ONE!", "sub/b.txt": "bee", "sub/c.txt": "sea", "new/d.txt": "dee"}


@pytest.fixture
def two_versions(repo: DataRepo, ws: Path) -> Path:
    write_tree(ws / "d", V1)
    add(repo, "d")
    for p in (ws / "d").rglob("*"):
        if p.is_file():
            p.unlink()
    write_tree(ws / "d", V2)
    add(repo, "d")
    return ws / "d"


def _expect(files: dict[str, str]) -> dict[str, bytes]:
    return {k: v.encode() for k, v in sorted(files.items())}


def test_checkout_switches_versions_and_keeps_matching_files(
    repo: DataRepo, two_versions: Path
) -> None:
    d = two_versions
    ino = os.stat(d / "sub" / "b.txt").st_ino
    report = checkout(repo, "d@1")
    assert read_tree(d) == _expect(V1)
    assert (report.written, report.kept, report.removed) == (2, 2, 1)
    assert os.stat(d / "sub" / "b.txt").st_ino == ino  # not rewritten
    assert read_pointer(d.with_name("d.tether")).version == 1
    assert not (d / "new").exists()
    assert [x.name for x in d.parent.iterdir() if "tether-" in x.name] == []
    checkout(repo, "d@2")
    assert read_tree(d) == _expect(V2)
    again = checkout(repo, "d@2")
    assert (again.written, again.kept) == (0, 4)


def test_checkout_to_folder(repo: DataRepo, two_versions: Path, ws: Path) -> None:
    checkout(repo, "d@1", to=ws / "out")
    assert read_tree(ws / "out") == _expect(V1)
    assert read_pointer(ws / "d.tether").version == 2  # --to leaves pointers alone
    with pytest.raises(UnsafeDestination):
        checkout(repo, "d@1", to=ws)


def test_checkout_without_pointer_needs_to(repo: DataRepo, two_versions: Path, ws: Path) -> None:
    os.unlink(ws / "d.tether")
    with pytest.raises(NoPointer, match="--to"):
        checkout(repo, "d@1")


def test_interrupted_checkout_leaves_previous_content(
    repo: DataRepo, two_versions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = two_versions
    write_tree(d, {f"many/{i}.txt": str(i) for i in range(300)})
    add(repo, "d")  # version 3
    before = read_tree(d)
    calls = 0
    real = data_copy._write_all  # every copy, of a loose or a packed object, goes here

    def dying(fd: int, data: bytes | memoryview) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise KeyboardInterrupt
        real(fd, data)

    monkeypatch.setattr(data_copy, "_write_all", dying)
    with pytest.raises(KeyboardInterrupt):
        checkout(repo, "d@1")
    assert read_tree(d) == before
    assert read_pointer(d.with_name("d.tether")).version == 3
    assert [x.name for x in d.parent.iterdir() if "tether-" in x.name] == []


def test_full_disk_is_a_clear_error(
    repo: DataRepo, two_versions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = two_versions
    before = read_tree(d)

    def full(fd: int, data: bytes | memoryview) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(data_copy, "_write_all", full)
    with pytest.raises(
        NotEnoughSpace, match=r"needs 4 B to write and .* is free; .* unchanged"
    ) as info:
        checkout(repo, "d@1")
    assert info.value.needed == len("one") + len("x")
    assert read_tree(d) == before
    assert [x.name for x in d.parent.iterdir() if "tether-" in x.name] == []


def test_link_modes_are_read_only(repo: DataRepo, two_versions: Path, ws: Path) -> None:
    checkout(repo, "d@1", to=ws / "h", link="hardlink")
    st = os.stat(ws / "h" / "a.txt")
    assert st.st_nlink >= 2 and not st.st_mode & 0o222
    checkout(repo, "d@1", to=ws / "s", link="symlink")
    assert (ws / "s" / "a.txt").is_symlink() and (ws / "s" / "a.txt").read_text() == "one"
    # back to copies: no file stays linked to the store
    checkout(repo, "d@1", to=ws / "h")
    st = os.stat(ws / "h" / "a.txt")
    assert st.st_nlink == 1 and st.st_mode & 0o200
    assert read_tree(ws / "h") == _expect(V1)


def test_restore_deleted_folder_and_single_file(repo: DataRepo, ws: Path) -> None:
    import shutil

    write_tree(ws / "d", V1)
    (ws / "t.csv").write_text("x\n1\n")
    add(repo, "d")
    add(repo, "t.csv")
    shutil.rmtree(ws / "d")
    (ws / "t.csv").write_text("edited\n")
    [sd, st] = sorted(status(repo), key=lambda s: s.path)
    assert sd.missing and st.modified == ["t.csv"]
    with pytest.raises(WorkWouldBeLost, match=r"1 file\(s\) .*: t\.csv \(modified\)"):
        checkout_pointers(repo)  # the edit is in no version: nothing is written
    assert not (ws / "d").exists() and (ws / "t.csv").read_text() == "edited\n"
    done = checkout_pointers(repo, force=True)
    assert [x.report.replaced for x in done if x.report] == [(), ("t.csv",)]
    assert all(x.report is not None for x in done)
    assert read_tree(ws / "d") == _expect(V1)
    assert (ws / "t.csv").read_text() == "x\n1\n"
    assert all(s.clean for s in status(repo))
    assert all(x.report is None for x in checkout_pointers(repo))


def test_status_reports_changes(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", V1)
    add(repo, "d")
    [s] = status(repo)
    assert s.clean
    (ws / "d" / "a.txt").write_text("changed")
    (ws / "d" / "gone.txt").unlink()
    (ws / "d" / "extra.txt").write_text("e")
    [s] = status(repo)
    assert (s.added, s.removed, s.modified) == (["extra.txt"], ["gone.txt"], ["a.txt"])
    assert s.to_dict()["clean"] is False


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_checked_out_files_get_their_stored_mode_whatever_the_umask(
    repo: DataRepo, ws: Path, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    write_tree(ws / "m", {"plain.txt": "p", "tool.sh": "#!/bin/sh\n"})
    (ws / "m" / "tool.sh").chmod(0o755)
    add(repo, "m")
    old = os.umask(umask)
    monkeypatch.setattr(data_copy, "_umask", None)  # read again from /proc
    try:
        checkout(repo, "m@1", to=ws / "out")
    finally:
        os.umask(old)
    assert (ws / "out" / "plain.txt").stat().st_mode & 0o777 == 0o644
    assert (ws / "out" / "tool.sh").stat().st_mode & 0o777 == 0o755
