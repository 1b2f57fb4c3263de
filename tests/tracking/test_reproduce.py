"""`tether reproduce` on a small deterministic training script, end to end."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import tether
from tether.store import ObjectRecord
from tether.tracking.errors import ReproduceError
from tether.tracking.reproduce import recorded_requirements, reproduce
from tether.tracking.session import Session

from .conftest import run_script

TRAIN = """
import json, random, sys, tether
SCALE = 1.0
rows = [line.split(",") for line in open("data/train.csv").read().split()]
with tether.run(name="train", params={"seed": 7, "scale": SCALE}) as run:
    run.log_input("data/train.csv")
    rng = random.Random(7)
    w = sum(float(x) * float(y) for x, y in rows) * SCALE + rng.random()
    for epoch in range(10):
        run.log_metric("loss", w / (epoch + 1), step=epoch)
    open("model.json", "w").write(json.dumps({"w": w}))
    run.log_artifact("model.json")
    print(run.id)
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def trained(workspace: Path) -> str:
    """A run made from a commit plus an uncommitted change, reading an ignored data file."""
    git(workspace, "init", "-q")
    (workspace / ".gitignore").write_text("data/\nmodel.json\n")
    (workspace / "data").mkdir()
    (workspace / "data" / "train.csv").write_text("1,2\n3,4\n5,6\n")
    (workspace / "train.py").write_text(TRAIN)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "train")
    # uncommitted: a different scale; reproduce must re-apply it to get the same model
    (workspace / "train.py").write_text(TRAIN.replace("SCALE = 1.0", "SCALE = 2.5"))
    proc = subprocess.run(
        ["python", "train.py"], cwd=workspace, capture_output=True, text=True, check=True
    )
    return proc.stdout.split()[0]


def test_reproduce_rebuilds_code_diff_and_inputs(
    workspace: Path, session: Session, trained: str
) -> None:
    original = tether.get_run(trained)
    assert original.code is not None and original.code.dirty and original.code.diff
    # the workspace moves on: data deleted, code changed again; the recorded state must win
    (workspace / "data" / "train.csv").unlink()
    (workspace / "train.py").write_text(TRAIN.replace("SCALE = 1.0", "SCALE = 9.0"))
    lines: list[str] = []
    report = reproduce(session, trained[:18], echo=lines.append)
    assert report.returncode == 0 and report.new_id and report.new_id != trained
    assert report.identical, report.comparisons
    kinds = {(c.kind, c.key) for c in report.comparisons}
    assert kinds == {("output", "model.json"), ("metric", "loss")}
    assert any("applying the recorded uncommitted diff" in line for line in lines)
    again = tether.get_run(report.new_id)
    assert again.tags["tether.reproduces"] == trained
    assert again.params == original.params == {"seed": "7", "scale": "2.5"}
    assert not report.workdir.exists()  # the scratch worktree is removed
    assert "tether-reproduce" not in git(workspace, "worktree", "list")


def test_a_different_result_is_reported(workspace: Path, session: Session, trained: str) -> None:
    # record other data at the same path after the original input: restored last, it wins,
    # so the re-run trains on different data and must report the difference
    other = session.objects.put_bytes(b"9,9\n")
    session.store.record_objects([ObjectRecord(other.digest, other.size, "blob")])
    session.store.add_run_io(trained, "input", "object", other.digest, name="data/train.csv")
    report = reproduce(session, trained, echo=lambda _: None)
    assert report.returncode == 0 and not report.identical
    assert {c.key for c in report.comparisons if not c.same} == {"model.json", "loss"}


def test_runs_that_cannot_be_reproduced(workspace: Path, session: Session) -> None:
    proc = run_script("import tether\nwith tether.run() as r:\n    print(r.id)\n", workspace)
    with pytest.raises(ReproduceError, match="no git commit"):
        reproduce(session, proc.stdout.split()[0], echo=lambda _: None)
    with tether.run(capture=False) as bare:
        pass
    with pytest.raises(ReproduceError, match="interactively"):
        reproduce(session, bare.id, echo=lambda _: None)


def test_exact_env_requirements_are_the_recorded_packages(session: Session, trained: str) -> None:
    requirements = recorded_requirements(session, session.store.get_run(trained))
    assert any(r.startswith("sqlalchemy==") for r in requirements)
    assert not any(r.startswith("tether==") for r in requirements)
    assert all("==" in r for r in requirements)
