"""``tether data diff``: the rich rendering, ``--json``, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tether.config import find_workspace, load_settings
from tether.objects import ObjectStore, Tree, TreeEntry
from tether.store import Store, open_store_from_settings

from .conftest import run


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised workspace."""
    monkeypatch.setenv("COLUMNS", "200")
    assert run("init", "--project", "p") == 0
    return tmp_path


def add(ws: Path, name: str, path: Path) -> None:
    """Record ``path`` (a folder, or one file as a one-entry tree) as the next version."""
    settings = load_settings(find_workspace(ws), {})
    objects = ObjectStore.from_settings(settings)
    store: Store = open_store_from_settings(settings)
    try:
        if path.is_dir():
            info = objects.put_tree(path)
            digest, count, size = info.digest, info.count, info.size
        else:
            blob = objects.put_file(path)
            tree = Tree.from_entries([TreeEntry(path.name, blob.digest, blob.size)])
            digest, count, size = objects.put_bytes(tree.to_bytes()).digest, 1, blob.size
        store.get_or_create_project(settings.project)
        store.create_dataset_version(
            settings.project, name, tree_digest=digest, file_count=count, total_size=size
        )
    finally:
        store.close()


def folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.fixture
def two_folders(ws: Path) -> Path:
    old = {f"many/f{i:03d}.txt": b"x" for i in range(60)} | {"a.txt": b"aa", "gone.txt": b"g"}
    new = {f"many/f{i:03d}.txt": b"x" for i in range(60)} | {"a.txt": b"aaaa", "new.txt": b"n"}
    new |= {f"more/m{i:03d}.txt": b"m" for i in range(55)}
    add(ws, "ds", folder(ws / "v1", old))
    add(ws, "ds", folder(ws / "v2", new))
    return ws


def test_folder_diff_rendering(two_folders: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("data", "diff", "ds@1", "ds@2") == 0
    out = capsys.readouterr().out
    assert "ds@1 -> ds@2" in out
    assert "56 added (+56 B), 1 removed (-1 B), 1 modified (+2 B), 60 unchanged" in out
    assert "- gone.txt" in out and "~ a.txt" in out
    # added files are listed by path, 50 of them: more/m000 ... more/m049
    assert "+ more/m049.txt" in out and "more/m050.txt" not in out and "new.txt" not in out
    assert "... and 6 more added files" in out

    assert run("data", "diff", "ds@1", "ds@2", "--limit", "3") == 0
    assert "... and 53 more added files" in capsys.readouterr().out

    assert run("data", "diff", "ds", "ds@2") == 0
    assert "no differences (117 files" in capsys.readouterr().out


def test_folder_diff_json(two_folders: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("data", "diff", "ds@1", "ds@2", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {
        "a",
        "b",
        "summary",
        "added",
        "removed",
        "modified",
        "tables",
        "tables_skipped",
    }
    assert doc["a"]["dataset"] == "ds" and doc["a"]["version"] == 1 and doc["b"]["version"] == 2
    assert doc["summary"]["added"] == 56 and len(doc["added"]) == 56  # JSON is never truncated
    assert doc["removed"] == [
        {"path": "gone.txt", "size": 1, "digest": doc["removed"][0]["digest"]}
    ]
    [m] = doc["modified"]
    assert (m["path"], m["old_size"], m["new_size"], m["delta"]) == ("a.txt", 2, 4, 2)
    assert doc["tables"] == [] and doc["tables_skipped"] == 0


def test_table_diff_rendering_and_json(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ws / "v1").mkdir()
    (ws / "v2").mkdir()
    pq.write_table(
        pa.table({"x": [1, 2, 3], "city": ["oslo", "oslo", "rome"], "gone": [1, 1, 1]}),
        ws / "v1" / "t.parquet",
    )
    pq.write_table(
        pa.table({"x": [1.0, 2.0, 3.0, 10.0], "city": ["oslo", "lima", "lima", None]}),
        ws / "v2" / "t.parquet",
    )
    add(ws, "t", ws / "v1" / "t.parquet")
    add(ws, "t", ws / "v2" / "t.parquet")

    assert run("data", "diff", "t@1", "t@2") == 0
    out = capsys.readouterr().out
    assert "table t.parquet" in out
    assert "rows: 3 -> 4 (+1)" in out
    assert "- gone (int64)" in out
    assert "~ x: int64 -> double" in out
    assert "2 -> 4" in out  # mean of x
    assert "3 -> 10" in out  # max of x
    assert "oslo:2, rome:1 -> lima:2, oslo:1" in out
    assert "0 -> 1" in out  # nulls of city

    assert run("data", "diff", "t@1", "t@2", "--json") == 0
    [table] = json.loads(capsys.readouterr().out)["tables"]
    assert table["rows"] == {"old": 3, "new": 4, "delta": 1}
    x = next(c for c in table["columns"] if c["name"] == "x")
    assert x["status"] == "changed" and {"type", "max", "mean"} <= set(x["changed"])
    assert (x["old"]["mean"], x["new"]["mean"], x["new"]["max"]) == (2.0, 4.0, 10.0)

    assert run("data", "diff", "t@1", "t@2", "--no-tables", "--json") == 0
    assert json.loads(capsys.readouterr().out)["tables"] == []


def _fails(capsys: pytest.CaptureFixture[str], args: list[str], *fragments: str) -> None:
    assert run(*args) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


def test_errors_are_one_line(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add(ws, "ds", folder(ws / "v1", {"a.csv": b"a\n1\n"}))
    add(ws, "ds", folder(ws / "v2", {"a.csv": b"a,b\n1\n\x00\x01,2,3\n"}))
    _fails(capsys, ["data", "diff", "ds@x", "ds@1"], "'ds@x'", "NAME@VERSION")
    _fails(capsys, ["data", "diff", "nope", "ds@1"], "dataset 'nope' does not exist")
    _fails(capsys, ["data", "diff", "ds@1", "ds@7"], "'ds'", "no version 7")
    _fails(capsys, ["data", "diff", "ds@1", "ds@2"], "a.csv in dataset ds@2", "csv table")
