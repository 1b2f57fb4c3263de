from __future__ import annotations

import shutil
from pathlib import Path

from tests.data.conftest import read_tree, write_tree
from tether.data import DataRepo, add, checkout_pointers
from tether.data.materialize import _runs_by_folder
from tether.objects.tree import FILE_MODE, TreeEntry


def _entries(*paths: str) -> list[TreeEntry]:
    return [TreeEntry(p, "0" * 64, 1, FILE_MODE) for p in sorted(paths)]


def test_runs_never_mix_folders_and_stay_short() -> None:
    entries = _entries(
        "a/b.txt", "a/b/c", "a/b/d", "a/z", "top", *[f"flat/{i:03}" for i in range(5)]
    )
    runs = _runs_by_folder(entries, limit=2)
    assert [i for r in runs for i in r] == list(range(len(entries)))  # each entry once, in order
    for r in runs:
        assert 1 <= len(r) <= 2
        assert len({entries[i].path.rpartition("/")[0] for i in r}) == 1
    assert _runs_by_folder([]) == []


def test_checkout_of_many_folders_and_a_large_one(repo: DataRepo, ws: Path) -> None:
    files = {f"d{k}/f{i}": f"{k}-{i}" for k in range(5) for i in range(40)}
    files |= {f"flat/{i:04}": str(i) for i in range(600)}  # more than one run
    files |= {"d1.txt": "beside d1", "d1/sub/deep": "nested"}
    write_tree(ws / "data", files)
    add(repo, "data")
    shutil.rmtree(ws / "data")
    checkout_pointers(repo)
    assert read_tree(ws / "data") == {k: v.encode() for k, v in sorted(files.items())}
