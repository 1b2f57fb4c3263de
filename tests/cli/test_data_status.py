"""``tether data status`` answers an unchanged workspace before Typer is imported
(tether.cli.data_status), and prints exactly what the Typer command prints."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tether.cli.data_status as fast
from tether.config import init_workspace

from .conftest import run


def _old(path: Path) -> None:
    """mtimes safely in the past: recent whole-second mtimes are never trusted by a snapshot."""
    past = time.time() - 60
    for p in [path, *path.rglob("*")]:
        os.utime(p, (past, past))


@pytest.fixture
def ws(ws: Path) -> Iterator[Path]:
    """The workspace with three datasets (a folder, a file, a folder in a subfolder), added."""
    root = ws
    for folder in (root / "imgs", root / "sub" / "tabs"):
        (folder / "a").mkdir(parents=True)
        for i in range(5):
            (folder / "a" / f"{i}.bin").write_bytes(os.urandom(50))
        _old(folder)
    (root / "notes.txt").write_text("notes")
    _old(root / "notes.txt")
    assert run("data", "add", "imgs") == 0
    assert run("data", "add", "notes.txt") == 0
    assert run("data", "add", "sub/tabs", "--name", "tables") == 0
    yield root


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What the fast path answered, one bool per call."""
    seen: list[bool] = []
    real = fast.answer

    def spy(args: list[str]) -> bool:
        seen.append(real(args))
        return seen[-1]

    monkeypatch.setattr(fast, "answer", spy)
    return seen


def _status(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert run(*args) == 0
    return capsys.readouterr().out


def _typer_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> str:
    with monkeypatch.context() as m:
        m.setattr(fast, "answer", lambda args: False)
        return _status(capsys, *args)


@pytest.mark.parametrize(
    "args",
    [
        ["data", "status"],
        ["data", "status", "--json"],
        ["-C", "WS", "data", "status"],
        ["--workspace", "WS/sub", "data", "status", "--json"],
    ],
)
def test_unchanged_status_is_answered_fast_with_the_same_output(
    ws: Path,
    args: list[str],
    answers: list[bool],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = [a.replace("WS", str(ws)) for a in args]
    if "-C" in args or "--workspace" in args:
        monkeypatch.chdir(ws.parent)  # the workspace comes from the option, not the folder
    out = _status(capsys, *args)
    assert answers == [True]
    assert out == _typer_status(capsys, monkeypatch, *args)
    if "--json" in args:
        assert [(s["path"], s["name"], s["clean"]) for s in json.loads(out)] == [
            ("imgs", "imgs", True),
            ("notes.txt", "notes.txt", True),
            ("sub/tabs", "tables", True),
        ]
    else:
        assert out == (
            "imgs  (imgs@1): up to date\n"
            "notes.txt  (notes.txt@1): up to date\n"
            "sub/tabs  (tables@1): up to date\n"
        )


@pytest.mark.parametrize("change", ["edit", "add", "remove", "missing", "file"])
def test_a_change_is_reported_by_the_typer_command(
    ws: Path, change: str, answers: list[bool], capsys: pytest.CaptureFixture[str]
) -> None:
    target = ws / "sub" / "tabs" / "a" / "3.bin"
    if change == "edit":
        target.write_bytes(b"other")
    elif change == "add":
        (target.parent / "new.bin").write_bytes(b"new")
    elif change == "remove":
        target.unlink()
    elif change == "missing":
        shutil.rmtree(ws / "imgs")
    else:
        (ws / "notes.txt").write_text("other")
    out = _status(capsys, "data", "status")
    assert answers == [False]
    expected = {
        "edit": "sub/tabs  (tables@1): 0 added, 0 removed, 1 modified\n  modified:  a/3.bin\n",
        "add": "sub/tabs  (tables@1): 1 added, 0 removed, 0 modified\n  added:     a/new.bin\n",
        "remove": "sub/tabs  (tables@1): 0 added, 1 removed, 0 modified\n  removed:   a/3.bin\n",
        "missing": "imgs  (imgs@1): missing; restore it with `tether data checkout`\n",
        "file": "notes.txt  (notes.txt@1): 0 added, 0 removed, 1 modified\n",
    }[change]
    assert expected in out


def test_a_pointer_edited_by_hand_is_read_by_the_typer_command(
    ws: Path,
    answers: list[bool],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pointer = ws / "imgs.tether"
    pointer.write_text(pointer.read_text().replace("version = 1", "version=1"))
    out = _status(capsys, "data", "status")
    assert answers == [False]
    assert out == _typer_status(capsys, monkeypatch, "data", "status")
    assert "imgs  (imgs@1): up to date" in out


def test_other_arguments_and_empty_workspaces_go_to_typer(
    tmp_path: Path,
    answers: list[bool],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    init_workspace(tmp_path / "empty")
    monkeypatch.chdir(tmp_path / "empty")
    assert _status(capsys, "data", "status") == (
        "no datasets tracked here (no .tether pointer files)\n"
    )
    assert run("data", "status", "--help") == 0
    assert run("-C", str(tmp_path / "nowhere"), "data", "status") == 1
    assert "no Tether workspace found" in capsys.readouterr().err
    assert answers == [False, False, False]


def test_both_paths_share_one_formatting_clean_and_dirty(
    ws: Path,
    answers: list[bool],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Text and --json come from one function (fast.render) on either path: the text printed
    is the rendering of the rows that --json prints, byte for byte, clean or not."""
    for args in (["data", "status"], ["data", "status", "--json"]):
        assert _status(capsys, *args) == _typer_status(capsys, monkeypatch, *args)
    assert answers == [True, True]
    clean = _status(capsys, "data", "status", "--json")
    assert _status(capsys, "data", "status") == fast.render(json.loads(clean), as_json=False)

    (ws / "sub" / "tabs" / "a" / "3.bin").write_bytes(b"other")
    (ws / "sub" / "tabs" / "a" / "0.bin").unlink()
    (ws / "sub" / "tabs" / "a" / "new.bin").write_bytes(b"new")
    shutil.rmtree(ws / "imgs")
    text = _status(capsys, "data", "status")
    rows = json.loads(_status(capsys, "data", "status", "--json"))
    assert answers == [True, True, True, True, False, False]
    assert text == (
        "imgs  (imgs@1): missing; restore it with `tether data checkout`\n"
        "notes.txt  (notes.txt@1): up to date\n"
        "sub/tabs  (tables@1): 1 added, 1 removed, 1 modified\n"
        "  added:     a/new.bin\n"
        "  removed:   a/0.bin\n"
        "  modified:  a/3.bin\n"
    )
    assert text == fast.render(rows, as_json=False)
    assert [(r["path"], r["clean"], r["missing"]) for r in rows] == [
        ("imgs", False, True),
        ("notes.txt", True, False),
        ("sub/tabs", False, False),
    ]
