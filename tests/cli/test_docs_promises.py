"""What the docs promise, checked against the code (docs/getting-started.md, data.md,
pipelines.md): the extras, the objects.workers default, the shape of `data status --json`,
the missing-object message and its hint, and downstream steps staying cached."""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tether.config import find_workspace, init_workspace, load_settings

from .conftest import run

ROOT = Path(__file__).resolve().parents[2]


def test_every_extra_is_documented() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    doc = (ROOT / "docs" / "getting-started.md").read_text()
    documented = set(re.findall(r"`tether\[([a-z0-9]+)\]`", doc))
    assert documented - {"dev"} == set(extras) - {"dev"}


def test_objects_workers_default_is_as_documented(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "getting-started.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| `objects.workers`"))
    assert "4 \u00d7 CPUs, at most 32" in row  # 4 times the CPU count
    init_workspace(tmp_path, project="p")
    settings = load_settings(find_workspace(tmp_path), {}, env={})
    assert settings.objects_workers == min(32, 4 * (os.cpu_count() or 1))


def test_data_status_json_shape(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("clean", "changed", "gone"):
        (ws / name).mkdir()
        (ws / name / "a.txt").write_text(name)
        assert run("data", "add", name) == 0
    (ws / "changed" / "a.txt").write_text("edited")
    (ws / "changed" / "new.txt").write_text("new")
    shutil.rmtree(ws / "gone")
    capsys.readouterr()
    assert run("data", "status", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "name": "changed",
            "version": 1,
            "path": "changed",
            "clean": False,
            "missing": False,
            "added": ["new.txt"],
            "removed": [],
            "modified": ["a.txt"],
        },
        {
            "name": "clean",
            "version": 1,
            "path": "clean",
            "clean": True,
            "missing": False,
            "added": [],
            "removed": [],
            "modified": [],
        },
        {
            "name": "gone",
            "version": 1,
            "path": "gone",
            "clean": False,
            "missing": True,
            "added": [],
            "removed": ["a.txt"],
            "modified": [],
        },
    ]
    doc = (ROOT / "docs" / "data.md").read_text()
    for key in rows[0]:
        assert f'"{key}"' in doc, f"docs/data.md does not describe {key!r} of status --json"


def test_missing_objects_message_and_hint(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As on another machine whose object store holds the version's tree but not its files."""
    (ws / "imgs").mkdir()
    (ws / "imgs" / "a.txt").write_text("a")
    (ws / "imgs" / "b.txt").write_text("b")
    assert run("data", "add", "imgs") == 0
    tree = json.loads((ws / "imgs.tether").read_text().split("tree = ")[1].split()[0])
    assert run("objects", "get", tree, str(ws / "tree.bin")) == 0
    other = ["--objects-url", str(ws / "other")]
    assert run(*other, "objects", "put", str(ws / "tree.bin")) == 0
    shutil.rmtree(ws / "imgs")
    capsys.readouterr()
    assert run(*other, "data", "checkout") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: 2 objects of tree {tree} are ")
    assert "missing from the object store" in err and "pull them from a remote" in err
    assert "tether data pull" in err


FLOW = """
from tether.pipelines import step, pipeline

@step
def parity(n: int) -> int:
    return n % 2

@step
def after(p: int) -> int:
    return p + 1

@pipeline
def flow(n: int = 1):
    return after(parity(n))
"""


def test_equal_outputs_keep_downstream_cached(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ws / "flow.py").write_text(FLOW)
    cached = []
    for n in (1, 3):  # parity runs again (its param changed) and returns 1 both times
        assert run("pipeline", "run", "flow.py:flow", "-p", f"n={n}", "-x", "inline") == 0
        run_id = capsys.readouterr().out.split()[2]
        assert run("pipeline", "show", run_id, "--json") == 0
        steps = json.loads(capsys.readouterr().out)["steps"]
        cached.append({s["name"]: s["cached"] for s in steps})
    assert cached == [{"parity": False, "after": False}, {"parity": False, "after": True}]
