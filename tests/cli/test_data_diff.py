"""``tether data diff``: the rich rendering, ``--json``, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
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
        "tables_unavailable",
    }
    assert doc["a"]["dataset"] == "ds" and doc["a"]["version"] == 1 and doc["b"]["version"] == 2
    assert doc["summary"]["added"] == 56 and len(doc["added"]) == 56  # JSON is never truncated
    assert doc["removed"] == [
        {"path": "gone.txt", "size": 1, "digest": doc["removed"][0]["digest"]}
    ]
    [m] = doc["modified"]
    assert (m["path"], m["old_size"], m["new_size"], m["delta"]) == ("a.txt", 2, 4, 2)
    assert doc["tables"] == [] and doc["tables_skipped"] == 0
    assert doc["tables_unavailable"] is None


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


def test_without_pyarrow_files_are_diffed_and_the_extra_named(ws: Path) -> None:
    add(ws, "ds", folder(ws / "v1", {"a.csv": b"a\n1\n", "b.txt": b"b"}))
    add(ws, "ds", folder(ws / "v2", {"a.csv": b"a\n2\n", "c.txt": b"c"}))
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"  # `import pyarrow` raises ImportError
        "from tether.cli.main import main; main(sys.argv[1:])"
    )
    for extra in ([], ["--json"]):
        proc = subprocess.run(
            [sys.executable, "-c", code, "data", "diff", "ds@1", "ds@2", *extra],
            cwd=ws,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        if extra:
            doc = json.loads(proc.stdout)
            assert doc["summary"]["modified"] == 1 and doc["tables_skipped"] == 1
            assert "pip install 'tether[pandas]'" in doc["tables_unavailable"]
        else:
            assert "1 added" in proc.stdout and "~ a.csv" in proc.stdout
            assert "1 modified tables not summarised" in proc.stdout
            assert "pip install 'tether[pandas]'" in proc.stdout  # the [extra] survives


def test_version_against_the_files_on_disk(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder(ws / "imgs", {"a.txt": b"a", "t.csv": b"x\n1\n2\n"})
    assert run("data", "add", "imgs") == 0
    (ws / "imgs" / "a.txt").write_bytes(b"aaa")
    (ws / "imgs" / "new.txt").write_bytes(b"n")
    (ws / "imgs" / "t.csv").write_bytes(b"x\n1\n2\n3\n")
    capsys.readouterr()
    assert run("data", "diff", "imgs@1") == 0
    out = capsys.readouterr().out
    assert "imgs@1 -> imgs (workspace)" in out and "+ new.txt" in out and "~ a.txt" in out
    assert "rows: 2 -> 3 (+1)" in out  # the table on disk is summarised too
    assert run("data", "diff", "imgs", "--json") == 0  # NAME: the pointer's version
    doc = json.loads(capsys.readouterr().out)
    assert doc["b"]["version"] is None and doc["b"]["path"] == "imgs"
    assert doc["summary"]["added"] == 1 and doc["summary"]["modified"] == 2
    _fails(capsys, ["data", "diff", "ds"], "no pointer file of dataset 'ds'")


def _git(ws: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=ws,
        check=True,
        capture_output=True,
    )


def test_since_a_git_revision(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder(ws / "imgs", {"a.txt": b"a"})
    assert run("data", "add", "imgs") == 0
    _git(ws, "init", "-q")
    _git(ws, "add", "imgs.tether")
    _git(ws, "commit", "-qm", "v1")
    (ws / "imgs" / "b.txt").write_bytes(b"bb")
    assert run("data", "add", "imgs") == 0
    _git(ws, "commit", "-qam", "v2")
    capsys.readouterr()
    assert run("data", "diff", "--rev", "HEAD~1") == 0
    out = capsys.readouterr().out
    assert "imgs@1 -> imgs@2" in out and "+ b.txt" in out
    assert run("data", "diff", "--rev", "HEAD~1", "imgs", "--json") == 0
    [doc] = json.loads(capsys.readouterr().out)
    assert (doc["a"]["version"], doc["b"]["version"]) == (1, 2)
    assert run("data", "diff", "--rev", "HEAD") == 0
    assert "no differences" in capsys.readouterr().out
    _fails(capsys, ["data", "diff", "--rev", "nosuchrev"], "at git revision 'nosuchrev'")
    assert run("data", "diff") == 2  # a usage error
