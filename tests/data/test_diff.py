"""Dataset diffs: files by tree entries, tables by column summaries, errors that name the file."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.data.diff import DatasetDiff, diff_trees, diff_versions
from tether.data.table_summary import (
    UnreadableTable,
    compare_summaries,
    summarize_table,
    table_format,
)
from tether.errors import IntegrityError, InvalidInput, NotFound
from tether.objects import ObjectStore, Tree, TreeEntry
from tether.store import DatasetVersion, Store, open_store

P = "p"


@pytest.fixture
def store(sqlite_store_url: str) -> Iterator[Store]:
    s = open_store(sqlite_store_url)
    s.get_or_create_project(P)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def objects(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "objects"), workers=4)


def add_version(store: Store, objects: ObjectStore, name: str, path: Path) -> DatasetVersion:
    """A folder as its tree; a single file as a one-entry tree named after the file."""
    if path.is_dir():
        info = objects.put_tree(path)
        digest, count, size = info.digest, info.count, info.size
    else:
        blob = objects.put_file(path)
        tree = Tree.from_entries([TreeEntry(path.name, blob.digest, blob.size)])
        digest, count, size = objects.put_bytes(tree.to_bytes()).digest, 1, blob.size
    return store.create_dataset_version(
        P, name, tree_digest=digest, file_count=count, total_size=size
    )


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def diff(store: Store, objects: ObjectStore, a: str, b: str, **kw: Any) -> DatasetDiff:
    return diff_versions(store, objects, P, a, b, **kw)


# -- folders -------------------------------------------------------------------------------


def test_folder_diff_lists_added_removed_modified_with_sizes(
    store: Store, objects: ObjectStore, tmp_path: Path
) -> None:
    write(
        tmp_path / "v1",
        {"keep.txt": b"same", "a.txt": b"12345", "gone.bin": b"x" * 100, "sub/s.txt": b"s"},
    )
    write(
        tmp_path / "v2",
        {"keep.txt": b"same", "a.txt": b"1234567890", "sub/s.txt": b"s", "sub/new.txt": b"n" * 7},
    )
    add_version(store, objects, "ds", tmp_path / "v1")
    add_version(store, objects, "ds", tmp_path / "v2")

    d = diff(store, objects, "ds@1", "ds@2")
    assert (d.a.version, d.b.version) == (1, 2)
    assert [(e.path, e.size) for e in d.files.added] == [("sub/new.txt", 7)]
    assert [(e.path, e.size) for e in d.files.removed] == [("gone.bin", 100)]
    [m] = d.files.modified
    assert (m.path, m.old.size, m.new.size, m.delta) == ("a.txt", 5, 10, 5)
    assert d.files.unchanged == 2
    assert (d.files.added_size, d.files.removed_size, d.files.size_delta) == (7, 100, -88)
    assert d.b.total_size - d.a.total_size == d.files.size_delta
    assert d.tables == ()

    doc = d.to_dict()
    assert doc["summary"] == {
        "added": 1,
        "removed": 1,
        "modified": 1,
        "unchanged": 2,
        "added_size": 7,
        "removed_size": 100,
        "modified_delta": 5,
        "size_delta": -88,
    }
    assert doc["modified"][0]["path"] == "a.txt" and doc["modified"][0]["delta"] == 5
    assert doc["a"]["version"] == 1 and doc["b"]["files"] == 4

    # the bare name means the latest version; reversed order swaps added and removed
    back = diff(store, objects, "ds", "ds@1")
    assert [e.path for e in back.files.added] == ["gone.bin"]
    assert [e.path for e in back.files.removed] == ["sub/new.txt"]
    same = diff(store, objects, "ds@2", "ds")
    assert same.files.is_empty and same.files.unchanged == 4


def test_versions_of_two_datasets_can_be_compared(
    store: Store, objects: ObjectStore, tmp_path: Path
) -> None:
    add_version(store, objects, "one", write(tmp_path / "x", {"f": b"1"}))
    add_version(store, objects, "two", write(tmp_path / "y", {"f": b"2", "g": b"3"}))
    d = diff(store, objects, "one@1", "two")
    assert [e.path for e in d.files.added] == ["g"]
    assert [m.path for m in d.files.modified] == ["f"]


def test_executable_bit_change_counts_as_modified() -> None:
    digest = "0" * 64
    a = Tree.from_entries([TreeEntry("run.sh", digest, 3, 0o644)])
    b = Tree.from_entries([TreeEntry("run.sh", digest, 3, 0o755)])
    d = diff_trees(a, b)
    assert [m.path for m in d.modified] == ["run.sh"] and d.modified[0].delta == 0


_ALL = [f"d{i}/f{j}" for i in range(4) for j in range(6)]
_paths = st.sets(st.sampled_from(_ALL), max_size=len(_ALL))


@given(a=_paths, b=_paths, flips=st.sets(st.sampled_from(_ALL)))
@settings(max_examples=60, deadline=None)
def test_diff_trees_partitions_both_sides(a: set[str], b: set[str], flips: set[str]) -> None:
    def tree(paths: set[str], flipped: set[str]) -> Tree:
        return Tree.from_entries(
            TreeEntry(p, ("1" if p in flipped else "0") * 64, _ALL.index(p) + (p in flipped))
            for p in paths
        )

    ta, tb = tree(a, set()), tree(b, flips)
    d = diff_trees(ta, tb)
    assert len(d.added) + len(d.modified) + d.unchanged == len(tb.entries)
    assert len(d.removed) + len(d.modified) + d.unchanged == len(ta.entries)
    assert {e.path for e in d.added} == b - a
    assert {e.path for e in d.removed} == a - b
    assert {m.path for m in d.modified} == a & b & flips
    assert d.size_delta == tb.size - ta.size
    assert diff_trees(ta, ta).is_empty


T = TypeVar("T")


def _python_lines_run(fn: Callable[[], T]) -> tuple[T, int]:
    """``fn()`` and how many lines of Python code it ran (its own and every function's)."""
    count = 0

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return trace

    import gc

    previous = sys.gettrace()
    enabled = gc.isenabled()
    gc.disable()  # a collection would run other code's gc.callbacks (more for larger trees)
    sys.settrace(trace)
    try:
        result = fn()
    finally:
        sys.settrace(previous)
        if enabled:
            gc.enable()
    return result, count


def test_200k_entry_trees_diff_runs_python_only_for_the_changes() -> None:
    """The entries both trees share never reach Python code (set operations in C compare
    them), so a diff of 200,000 entries costs what its 2,500 changes cost. A per-entry loop in
    Python would run at least one line per entry."""
    n = 200_000
    digest = "ab" * 32
    other = "cd" * 32
    # paths ascend with i, so the tuples are already sorted as Tree.from_entries would sort them
    old = tuple(TreeEntry(f"d{i // 2000:03d}/f{i:07d}.bin", digest, 1024) for i in range(n))
    new = list(old[1000:])  # 1000 removed
    for i in range(0, 1000):  # 1000 modified
        e = new[i * 7]
        new[i * 7] = TreeEntry(e.path, other, 2048)
    new += [TreeEntry(f"extra/file{i:07d}.bin", digest, 1024) for i in range(500)]  # 500 added
    a, b = Tree(old), Tree(tuple(new))

    d, lines = _python_lines_run(lambda: diff_trees(a, b))

    assert (len(d.added), len(d.removed), len(d.modified)) == (500, 1000, 1000)
    assert d.unchanged == n - 2000
    assert d.size_delta == 500 * 1024 - 1000 * 1024 + 1000 * 1024
    changes = 500 + 1000 + 1000
    assert lines < 10 * changes < n / 5, f"{lines} lines of Python for {changes} changes"
    # equal trees: the Python run does not grow with their size (first calls import nothing)
    small, large = Tree(old[:5000]), Tree(old[:50_000])
    _, at_5k = _python_lines_run(lambda: diff_trees(small, small))
    _, at_50k = _python_lines_run(lambda: diff_trees(large, large))
    assert at_50k <= at_5k + 10, f"{at_5k} lines for 5,000 equal entries, {at_50k} for 50,000"


# -- tables --------------------------------------------------------------------------------


def _table_v1() -> pa.Table:
    n = 100
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "price": pa.array([float(i) if i % 10 else None for i in range(n)], pa.float64()),
            "city": pa.array([["paris", "oslo", "rome"][i % 3] for i in range(n)]),
            "qty": pa.array([i % 7 for i in range(n)], pa.int64()),
            "legacy": pa.array(["x"] * n),
        }
    )


def _table_v2() -> pa.Table:
    n = 120
    cities = ["paris", "oslo", "rome", "lima"]
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "price": pa.array([float(i) * 2 for i in range(n)], pa.float64()),
            "city": pa.array(
                [cities[i % 4] if i % 6 else None for i in range(n)]
            ).dictionary_encode(),
            "qty": pa.array([float(i % 7) for i in range(n)], pa.float64()),
            "discount": pa.array([0.1] * n),
        }
    )


def test_parquet_table_diff(store: Store, objects: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    pq.write_table(_table_v1(), tmp_path / "v1" / "sales.parquet", row_group_size=30)
    pq.write_table(_table_v2(), tmp_path / "v2" / "sales.parquet", row_group_size=30)
    add_version(store, objects, "sales", tmp_path / "v1" / "sales.parquet")
    add_version(store, objects, "sales", tmp_path / "v2" / "sales.parquet")

    d = diff(store, objects, "sales@1", "sales@2")
    assert [m.path for m in d.files.modified] == ["sales.parquet"]
    [t] = d.tables
    assert (t.path_a, t.path_b) == ("sales.parquet", "sales.parquet")
    assert (t.old.num_rows, t.new.num_rows, t.rows_delta) == (100, 120, 20)
    assert [c.name for c in t.columns_added] == ["discount"]
    assert [c.name for c in t.columns_removed] == ["legacy"]
    assert t.type_changes == (
        ("city", "string", "dictionary<values=string, indices=int32, ordered=0>"),
        ("qty", "int64", "double"),
    )
    assert t.schema_changed

    by_name = {c.name: c for c in t.columns}
    price = by_name["price"]
    assert price.status == "changed"
    assert price.old is not None and price.new is not None
    assert (price.old.null_count, price.new.null_count) == (10, 0)
    assert (price.old.min, price.old.max) == (1.0, 99.0)
    assert price.old.mean == pytest.approx(sum(i for i in range(100) if i % 10) / 90)
    assert (price.new.min, price.new.max, price.new.mean) == (0.0, 238.0, 119.0)
    assert {"null_count", "min", "max", "mean"} <= set(price.changed)

    city = by_name["city"]
    assert city.old is not None and city.new is not None
    assert city.old.top == (("paris", 34), ("oslo", 33), ("rome", 33))
    assert city.old.distinct == 3 and city.new.distinct == 4
    assert city.new.null_count == 20
    # ties are broken by value
    assert city.new.top == (("lima", 30), ("oslo", 30), ("paris", 20), ("rome", 20))
    assert "top" in city.changed and "type" in city.changed  # string -> dictionary
    assert by_name["id"].status == "changed" and by_name["id"].changed == (
        "max",
        "mean",
    )

    doc = d.to_dict()["tables"][0]
    assert doc["rows"] == {"old": 100, "new": 120, "delta": 20}
    assert doc["schema"]["added"] == [{"name": "discount", "type": "double"}]
    assert doc["schema"]["removed"] == [{"name": "legacy", "type": "string"}]
    assert doc["schema"]["type_changed"][1] == {"name": "qty", "old": "int64", "new": "double"}
    city_doc = next(c for c in doc["columns"] if c["name"] == "city")
    assert city_doc["old"]["top"][0] == {"value": "paris", "count": 34}


def test_csv_table_in_a_folder(store: Store, objects: ObjectStore, tmp_path: Path) -> None:
    write(
        tmp_path / "v1",
        {
            "data/rows.csv": b"name,score,when\nann,1.5,2024-01-01\nbob,,2024-01-02\nann,3.5,\n",
            "README": b"hello",
        },
    )
    write(
        tmp_path / "v2",
        {
            "data/rows.csv": b"name,score,when\nann,2.5,2024-01-01\ncid,4.5,2024-03-01\n",
            "README": b"hello again",
        },
    )
    add_version(store, objects, "f", tmp_path / "v1")
    add_version(store, objects, "f", tmp_path / "v2")

    d = diff(store, objects, "f@1", "f@2")
    assert sorted(m.path for m in d.files.modified) == ["README", "data/rows.csv"]
    [t] = d.tables
    assert t.path_a == "data/rows.csv" and t.old.format == "csv"
    assert (t.old.num_rows, t.new.num_rows) == (3, 2)
    assert not t.schema_changed
    cols = {c.name: c for c in t.columns}
    score = cols["score"]
    assert score.old is not None and score.new is not None
    assert (score.old.null_count, score.old.mean) == (1, 2.5)
    assert (score.new.min, score.new.max, score.new.mean) == (2.5, 4.5, 3.5)
    name = cols["name"]
    assert name.old is not None and name.new is not None
    assert name.old.top == (("ann", 2), ("bob", 1))
    assert name.new.top == (("ann", 1), ("cid", 1))
    when = cols["when"]
    assert when.new is not None and when.new.kind == "temporal"
    assert d.to_dict()["tables"][0]["columns"][2]["new"]["max"] == "2024-03-01"

    skipped = diff(store, objects, "f@1", "f@2", max_tables=0)
    assert skipped.tables == () and skipped.tables_skipped == 1
    assert diff(store, objects, "f@1", "f@2", tables=False).tables == ()


def test_single_tables_of_different_names_and_formats_are_compared(
    store: Store, objects: ObjectStore, tmp_path: Path
) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "y"]}), tmp_path / "t.parquet")
    add_version(store, objects, "t", tmp_path / "t.csv")
    add_version(store, objects, "t", tmp_path / "t.parquet")
    d = diff(store, objects, "t@1", "t@2")
    assert [e.path for e in d.files.added] == ["t.parquet"]
    [t] = d.tables
    assert (t.path_a, t.path_b, t.old.format, t.new.format) == (
        "t.csv",
        "t.parquet",
        "csv",
        "parquet",
    )
    assert t.rows_delta == 1 and not t.schema_changed


# -- summaries -----------------------------------------------------------------------------


def test_summary_is_the_same_in_small_batches_and_from_a_file_object(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(_table_v2(), path)
    whole = summarize_table(path, "parquet")
    small = summarize_table(path, "parquet", batch_rows=7)  # means may differ in the last bits
    assert small.num_rows == whole.num_rows
    assert all(c.status == "unchanged" for c in compare_summaries(whole, small).columns)
    with open(path, "rb") as f:
        assert summarize_table(f, "parquet") == whole


def test_nan_is_counted_apart_and_left_out_of_the_stats(tmp_path: Path) -> None:
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"x": [1.0, float("nan"), 3.0, None]}), path)
    [x] = summarize_table(path, "parquet").columns
    assert (x.null_count, x.nan_count, x.min, x.max, x.mean) == (1, 1, 1.0, 3.0, 2.0)


def test_many_distinct_values_make_top_values_approximate(tmp_path: Path) -> None:
    path = tmp_path / "ids.parquet"
    values = [f"id{i}" for i in range(1000)] + ["hot"] * 50
    pq.write_table(pa.table({"k": values}), path)
    [k] = summarize_table(path, "parquet", batch_rows=100, max_tracked_values=200).columns
    assert not k.top_exact and k.distinct is None
    assert k.top[0][0] == "hot"
    [exact] = summarize_table(path, "parquet").columns
    assert exact.top_exact and exact.distinct == 1001 and exact.top[0] == ("hot", 50)


def test_csv_whose_types_change_after_the_first_block(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    rows = "".join(f"{i},{i}\n" for i in range(120_000))  # > 1 MiB of integers, then
    path.write_text("a,b\n" + rows + "7,oops\n")  # a string in column b after the first block
    s = summarize_table(path, "csv")
    assert s.num_rows == 120_001
    assert s.columns[1].type == "string" and s.columns[0].max == 119_999


def test_table_format_by_extension() -> None:
    assert table_format("a/B.PARQUET") == "parquet"
    assert table_format("x.csv.gz") == "csv"
    assert table_format("x.json") is None
    with pytest.raises(InvalidInput, match="'json'"):
        summarize_table("x.json", "json")  # type: ignore[arg-type]


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["ds@x", "ds@", "@2", "ds@0", ""])
def test_malformed_reference(store: Store, objects: ObjectStore, ref: str) -> None:
    with pytest.raises(InvalidInput, match="NAME@VERSION"):
        diff(store, objects, ref, "ds")


def test_unknown_dataset_and_version(store: Store, objects: ObjectStore, tmp_path: Path) -> None:
    add_version(store, objects, "ds", write(tmp_path / "v", {"f": b"1"}))
    with pytest.raises(NotFound, match="'nope'"):
        diff(store, objects, "nope@1", "ds@1")
    with pytest.raises(NotFound, match=r"'ds'.*no version 9"):
        diff(store, objects, "ds@1", "ds@9")


def test_unreadable_table_names_file_and_version(
    store: Store, objects: ObjectStore, tmp_path: Path
) -> None:
    pq.write_table(pa.table({"a": [1]}), tmp_path / "good.parquet")
    add_version(
        store,
        objects,
        "t",
        write(tmp_path / "v1", {"x/t.parquet": (tmp_path / "good.parquet").read_bytes()}),
    )
    add_version(store, objects, "t", write(tmp_path / "v2", {"x/t.parquet": b"not parquet at all"}))
    with pytest.raises(UnreadableTable, match=r"x/t\.parquet in dataset t@2 as a parquet table"):
        diff(store, objects, "t@1", "t@2")
    # the file diff alone still works
    assert len(diff(store, objects, "t@1", "t@2", tables=False).files.modified) == 1


def test_corrupt_stored_table_names_file_and_version(
    store: Store, objects: ObjectStore, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text("a\n1\n")
    (tmp_path / "b.csv").write_text("a\n2\n")
    add_version(store, objects, "c", tmp_path / "a.csv")
    add_version(store, objects, "c", tmp_path / "b.csv")
    v1 = store.get_dataset_version(P, "c", 1)
    blob = objects.read_tree(v1.tree_digest).entries[0].digest
    stored = objects.backend.path(blob)  # type: ignore[attr-defined]
    os.chmod(stored, 0o644)
    Path(stored).write_text("a\n9\n")
    with pytest.raises(IntegrityError, match=r"a\.csv in dataset c@1: object .* is corrupt"):
        diff(store, objects, "c@1", "c@2")
