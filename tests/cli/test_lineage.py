"""`tether lineage` for people: shared parts once, a default depth, a pipeline's steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tether
from tether.config import init_workspace

from .conftest import run


@pytest.fixture
def diamond(tmp_path: Path, capsys) -> dict[str, str]:
    """raw@1 is read by two preparing runs; one training run reads both of their outputs."""
    init_workspace(tmp_path, project="cli")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.csv").write_text("1\n")
    assert run("data", "add", "raw") == 0
    ids = {}
    outputs = []
    for name in ("prep_a", "prep_b"):
        (tmp_path / f"{name}.bin").write_text(name)
        with tether.run(name=name) as r:
            r.log_input("raw@1")
            outputs.append(r.log_artifact(tmp_path / f"{name}.bin"))
        ids[name] = r.id
    with tether.run(name="train") as train:
        for digest in outputs:
            train.log_input(digest)
    ids["train"] = train.id
    capsys.readouterr()
    return ids


def test_shared_upstream_is_printed_once(diamond: dict[str, str], capsys) -> None:
    assert run("lineage", diamond["train"]) == 0
    out = capsys.readouterr().out
    raw = [line for line in out.splitlines() if "dataset raw@1" in line]
    assert len(raw) == 2 and sum("(see above)" in line for line in raw) == 1


def test_default_depth_and_no_limit(diamond: dict[str, str], tmp_path: Path, capsys) -> None:
    previous = diamond["train"]
    for i in range(4):  # a chain: each run reads what the one before wrote
        (tmp_path / f"s{i}.bin").write_text(str(i))
        with tether.run(name=f"s{i}") as r:
            r.log_input(previous)
            previous = r.log_artifact(tmp_path / f"s{i}.bin")
    assert run("lineage", previous) == 0
    out = capsys.readouterr().out
    assert "more beyond 3 hops" in out and "prep_a" not in out
    assert run("lineage", "--depth", "0", previous) == 0
    out = capsys.readouterr().out
    assert "more beyond" not in out and "prep_a" in out and "dataset raw@1" in out
    assert run("lineage", "--json", previous) == 0
    assert json.loads(capsys.readouterr().out)["truncated"] is True


def test_pipeline_run_lists_its_steps_and_their_data(tmp_path: Path, capsys) -> None:
    init_workspace(tmp_path, project="cli")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.csv").write_text("1\n")
    assert run("data", "add", "raw") == 0
    with tether.run(name="pipe") as pipe:
        with tether.run(name="load") as load:
            load.log_input("raw@1", name="source")
        with tether.run(name="fit"):
            pass
    capsys.readouterr()
    assert run("lineage", pipe.id) == 0
    out = capsys.readouterr().out
    steps = out[out.index("steps (2") :]
    assert "load" in steps and "fit" in steps and "dataset raw@1  as source" in steps
    assert run("lineage", "--json", pipe.id) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["steps"][f"run:{pipe.id}"][0] == f"run:{load.id}"


def test_errors_name_the_kind_of_thing(diamond: dict[str, str], capsys) -> None:
    assert run("lineage", "raw@9") == 1
    assert "dataset 'raw' in project 'cli' has no version 9" in capsys.readouterr().err
    assert run("lineage", "nothing@1") == 1
    assert "no dataset or model named 'nothing'" in capsys.readouterr().err
    assert run("lineage", "dataset:nothing@1") == 1
    assert "dataset 'nothing' does not exist" in capsys.readouterr().err
