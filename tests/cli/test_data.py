from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import run


def test_add_ls_log_show(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ws / "imgs").mkdir()
    (ws / "imgs" / "a.txt").write_text("aaa")
    assert run("data", "add", "imgs", "-m", "first") == 0
    out = capsys.readouterr().out
    assert "added imgs@1 (1 files, 3 B)" in out and "imgs.tether" in out
    assert run("data", "add", "imgs") == 0
    assert "no new version" in capsys.readouterr().out
    (ws / "imgs" / "b.txt").write_text("bb")
    assert run("data", "add", "imgs", "--name", "imgs", "-m", "second") == 0
    capsys.readouterr()

    assert run("data", "ls") == 0
    out = capsys.readouterr().out
    assert "imgs" in out and " 2 " in out

    assert run("data", "log", "imgs") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "second" in lines[1] and "first" in lines[2]

    assert run("data", "show", "imgs@1") == 0
    out = capsys.readouterr().out
    assert "a.txt" in out and "b.txt" not in out
    assert run("data", "show", "imgs@2", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in doc["files"]] == ["a.txt", "b.txt"] and doc["version"] == 2


def test_status_and_checkout(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ws / "d").mkdir()
    (ws / "d" / "a").write_text("1")
    assert run("data", "add", "d") == 0
    assert run("data", "status") == 0
    assert "up to date" in capsys.readouterr().out
    (ws / "d" / "a").write_text("2")
    (ws / "d" / "n").write_text("n")
    assert run("data", "status", "--json") == 0
    [s] = json.loads(capsys.readouterr().out)
    assert (s["added"], s["modified"], s["removed"]) == (["n"], ["a"], [])
    shutil.rmtree(ws / "d")
    assert run("data", "status") == 0
    assert "missing" in capsys.readouterr().out
    assert run("data", "checkout") == 0
    assert (ws / "d" / "a").read_text() == "1"
    assert run("data", "checkout", "d@1", "--to", "out", "--link", "symlink") == 0
    assert (ws / "out" / "a").is_symlink()


def test_errors_are_one_line(ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "outside").write_text("x")
    assert run("data", "add", str(tmp_path / "outside")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "outside the workspace" in err and err.count("\n") == 1
    assert run("data", "show", "nope@1") == 1
    assert "does not exist" in capsys.readouterr().err
    assert run("data", "checkout", "x@1", "--link", "weird") == 1
    assert "--link" in capsys.readouterr().err


def test_delete_hides_a_dataset_until_restored(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("imgs", "labels"):
        (ws / name).mkdir()
        (ws / name / "a.txt").write_text(name)
        assert run("data", "add", name) == 0
    capsys.readouterr()
    assert run("data", "delete", "imgs") == 0
    assert "tether data restore imgs" in capsys.readouterr().out
    assert run("data", "ls", "--json") == 0
    assert [json.loads(x)["dataset"] for x in capsys.readouterr().out.splitlines()] == ["labels"]
    assert run("data", "ls", "--deleted") == 0
    assert "(deleted)" in next(x for x in capsys.readouterr().out.splitlines() if "imgs" in x)
    assert run("data", "show", "imgs@1") == 0  # versions stay readable
    assert run("data", "restore", "imgs") == 0
    capsys.readouterr()
    assert run("data", "ls", "--json") == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["dataset"], r["deleted"]) for r in rows] == [("imgs", False), ("labels", False)]
    assert run("data", "delete", "nope") == 1
    assert "dataset 'nope' does not exist" in capsys.readouterr().err


def test_hostile_adds_are_one_line_errors_and_record_nothing(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    (ws / "d").mkdir()
    (ws / "d" / "a").write_text("1")
    with open(os.fsencode(str(ws / "d")) + b"/\xff.bin", "wb") as f:
        f.write(b"x")
    cases = [
        (["data", "add", "."], "is the workspace"),
        (["data", "add", "d", "--name", "bad/name"], "not a valid name"),
        (["data", "add", "d"], "is not valid UTF-8"),
    ]
    for args, problem in cases:
        assert run(*args) == 1, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and problem in err and err.count("\n") == 1, err
    assert not (ws / "d.tether").exists() and not (ws / ".gitignore").exists()
    os.unlink(os.fsencode(str(ws / "d")) + b"/\xff.bin")
    (tmp_path / "mine").write_text("secret\n")
    (ws / ".gitignore").symlink_to(tmp_path / "mine")
    assert run("data", "add", "d") == 1
    err = capsys.readouterr().err
    assert ".gitignore is a symbolic link" in err and err.count("\n") == 1
    assert not (ws / "d.tether").exists()
    assert run("data", "add", "d", "--force") == 0
    assert (ws / ".gitignore").read_text() == "/d\n"
    assert (tmp_path / "mine").read_text() == "secret\n"
