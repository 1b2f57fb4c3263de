"""`tether gc`: a summary of what was kept and removed, a dry run that lists and changes
nothing, a grace period, and one clear line when a tree cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run


def _dataset(ws: Path, name: str, files: dict[str, bytes]) -> None:
    for rel, content in files.items():
        (ws / name / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / name / rel).write_bytes(content)
    assert run("data", "add", name) == 0


def _stored(ws: Path) -> set[str]:
    root = ws / ".tether" / "objects"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - {"gc.lock"}


def _gc_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert run("gc", "--json", *args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def test_dry_run_lists_then_gc_removes_a_deleted_dataset(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _dataset(ws, "kept", {"a.txt": b"kept file"})
    _dataset(ws, "gone", {"b.txt": b"gone file", "big.bin": b"x" * 1_100_000})
    assert run("data", "delete", "gone") == 0
    before = _stored(ws)
    capsys.readouterr()

    assert run("gc", "--dry-run", "--grace", "0") == 0

    out = capsys.readouterr().out
    listed = [line for line in out.splitlines() if line.startswith("would remove ")]
    assert len(listed) == 3, out  # the tree and its two files
    assert "referenced (kept)" in out and "1.0 MiB" in out
    assert _stored(ws) == before

    assert run("gc", "--grace", "0s") == 0
    out = capsys.readouterr().out
    assert "removed" in out and "would" not in out
    assert run("objects", "verify") == 0
    assert run("data", "checkout", "kept", "--to", "restored") == 0
    assert (ws / "restored" / "a.txt").read_bytes() == b"kept file"
    assert run("data", "restore", "gone") == 0
    capsys.readouterr()
    assert run("data", "checkout", "gone", "--to", "again") == 1  # its objects are gone
    assert "not in the object store" in capsys.readouterr().err


def test_default_grace_keeps_what_was_just_written(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _dataset(ws, "gone", {"b.txt": b"gone file"})
    assert run("data", "delete", "gone") == 0
    doc = _gc_json(capsys)
    assert doc["young"] == 2 and doc["removed"] == 0
    doc = _gc_json(capsys, "--grace", "0")
    assert doc["removed"] == 2 and doc["packs_removed"] == 1
    assert doc["removed_objects"] and doc["freed_bytes"] == doc["removed_bytes"]


def test_deleted_run_frees_its_artifact(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tether

    (ws / "model.bin").write_bytes(b"weights")
    with tether.run(name="r", capture=False) as r:
        digest = r.log_artifact(ws / "model.bin")
    assert run("runs", "delete", r.id) == 0
    doc = _gc_json(capsys, "--grace", "0")
    assert doc["removed_objects"] == [{"digest": digest, "size": 7}]


@pytest.mark.parametrize("grace", ["soon", "1w", "-1", "1.5.2h"])
def test_a_bad_grace_is_a_usage_error(
    ws: Path, capsys: pytest.CaptureFixture[str], grace: str
) -> None:
    assert run("gc", "--grace", grace) == 2
    assert "is not a duration" in capsys.readouterr().err


def test_a_damaged_tree_stops_gc_with_one_line(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tether

    _dataset(ws, "data", {"big.bin": b"y" * 1_100_000})
    tree = tether.dataset("data").tree_digest
    packs = ws / ".tether" / "objects" / "packs"
    pack = next(packs.glob("*.pack"))  # the tree was packed with the add
    pack.chmod(0o644)
    pack.write_bytes(pack.read_bytes().replace(b'"entries"', b'"entrieZ"'))
    before = _stored(ws)
    capsys.readouterr()

    assert run("gc", "--grace", "0") == 1

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: garbage collection stopped")
    assert tree in err and "tether objects repair" in err
    assert _stored(ws) == before
