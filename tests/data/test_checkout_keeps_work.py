"""Checkout never destroys work: files no version holds stop it, unless --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run
from tests.data.conftest import read_tree, write_tree
from tether.data import DataRepo, WorkWouldBeLost, add, checkout, read_pointer

V1 = {"a.txt": "one", "sub/b.txt": "bee", "gone.txt": "x"}
V2 = {"a.txt": "ONE!", "sub/b.txt": "bee", "new/d.txt": "dee"}


@pytest.fixture
def d(repo: DataRepo, ws: Path) -> Path:
    write_tree(ws / "d", V1)
    add(repo, "d")
    (ws / "d" / "gone.txt").unlink()
    write_tree(ws / "d", V2)
    add(repo, "d")
    return ws / "d"


def test_an_edited_file_stops_the_checkout_until_forced(repo: DataRepo, d: Path) -> None:
    (d / "a.txt").write_text("my edit")
    (d / "new" / "d.txt").write_text("edited, and not in version 1")
    before = read_tree(d)
    with pytest.raises(WorkWouldBeLost, match=r"a\.txt \(modified\), new/d\.txt \(modified\)"):
        checkout(repo, "d@1")
    assert read_tree(d) == before
    assert read_pointer(d.with_name("d.tether")).version == 2
    report = checkout(repo, "d@1", force=True)
    assert report.replaced == ("a.txt", "new/d.txt")
    assert read_tree(d) == {k: v.encode() for k, v in sorted(V1.items())}


def test_untracked_files_are_kept_unless_forced(repo: DataRepo, d: Path) -> None:
    (d / "notes.txt").write_text("mine")
    (d / "new" / "more.txt").write_text("mine too")
    report = checkout(repo, "d@1")  # new/d.txt is in version 2: it goes
    assert report.untracked == 2
    assert read_tree(d) == {
        **{k: v.encode() for k, v in V1.items()},
        "notes.txt": b"mine",
        "new/more.txt": b"mine too",
    }
    report = checkout(repo, "d@2", force=True)
    assert report.replaced == ("new/more.txt", "notes.txt")
    assert read_tree(d) == {k: v.encode() for k, v in sorted(V2.items())}


def test_an_untracked_file_in_the_way_stops_the_checkout(repo: DataRepo, d: Path) -> None:
    (d / "gone.txt").write_text("not the stored one")  # version 1 has gone.txt
    with pytest.raises(WorkWouldBeLost, match=r"gone\.txt \(untracked\)"):
        checkout(repo, "d@1")
    assert (d / "gone.txt").read_text() == "not the stored one"


def test_content_of_another_version_is_replaced_without_force(
    repo: DataRepo, d: Path, ws: Path
) -> None:
    # as after `git checkout` of an older commit: the pointer says 1, the data is version 2
    text = d.with_name("d.tether").read_text().replace("version = 2", "version = 1")
    v1_tree = repo.store.get_dataset_version(repo.project, "d", 1).tree_digest
    v2_tree = repo.store.get_dataset_version(repo.project, "d", 2).tree_digest
    d.with_name("d.tether").write_text(text.replace(v2_tree, v1_tree))
    from tether.data import checkout_pointers

    checkout_pointers(repo)
    assert read_tree(d) == {k: v.encode() for k, v in sorted(V1.items())}


def test_cli_lists_the_files_and_force_says_what_it_replaced(
    d: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (d / "a.txt").write_text("my edit")
    assert run("data", "checkout", "d@1") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a.txt (modified)" in err and "--force" in err
    assert (d / "a.txt").read_text() == "my edit"
    assert run("data", "checkout", "d@1", "--force") == 0
    assert "replaced (in no version): a.txt" in capsys.readouterr().out
    assert (d / "a.txt").read_text() == "one"
