from __future__ import annotations

import os
from pathlib import Path

import pytest

import tether
from tests.data.conftest import write_tree
from tether.data import NotATable
from tether.tracking.datasets import add, dataset


def test_dataset_handle_files_and_read_only_path(ws: Path) -> None:
    write_tree(ws / "imgs", {"a.txt": "a", "s/b.txt": "bb"})
    v = add("imgs", message="first")
    assert (v.dataset, v.version) == ("imgs", 1)
    h = dataset("imgs")
    assert (h.name, h.version, h.tree_digest) == ("imgs", 1, v.tree_digest)
    assert [(e.path, e.size) for e in h.files()] == [("a.txt", 1), ("s/b.txt", 2)]
    p = h.path()
    assert p == ws / ".tether" / "cache" / "datasets" / v.tree_digest
    assert (p / "s" / "b.txt").read_text() == "bb"
    assert not os.stat(p / "a.txt").st_mode & 0o222
    assert dataset("imgs@1").path() == p  # cheap the second time
    with pytest.raises(NotATable, match="2 files"):
        h.to_pandas()


def test_tables_to_pandas_and_arrow(ws: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    frame.to_parquet(ws / "t.parquet")
    (ws / "t.csv").write_text("x,y\n1,a\n2,b\n3,c\n")
    add("t.parquet", name="pq")
    add("t.csv", name="csv")
    pd.testing.assert_frame_equal(dataset("pq").to_pandas(), frame)
    pd.testing.assert_frame_equal(dataset("csv@1").to_pandas(), frame)
    assert dataset("pq").to_arrow().num_rows == 3
    assert dataset("csv").to_arrow().column_names == ["x", "y"]


def test_reading_inside_a_run_records_the_input(ws: Path) -> None:
    write_tree(ws / "imgs", {"a.txt": "a"})
    add("imgs")
    write_tree(ws / "imgs", {"a.txt": "b"})
    add("imgs")
    with tether.run(experiment="e") as run:
        h = dataset("imgs@1")
        h.path()
        h.path()
        made = add("imgs", name="copy")
    from tether.tracking.session import open_session

    store = open_session(ws).store
    inputs = store.list_run_io(run.id, "input")
    assert [(i.kind, i.ref, i.name) for i in inputs] == [("dataset_version", "imgs@1", "imgs")]
    assert made.run_id == run.id


def test_bad_reference(ws: Path) -> None:
    from tether.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput, match="NAME@VERSION"):
        dataset("imgs@x")
    with pytest.raises(NotFound):
        dataset("nothing")
