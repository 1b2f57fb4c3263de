"""``tether reproduce`` of a pipeline run: every step re-run without the cache, outputs compared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tether.pipelines.loader import load_file
from tether.pipelines.reproduce import reproduce_pipeline
from tether.tracking.session import open_session

from .conftest import WriteModule

FLOW = """
import time
from pathlib import Path
from tether.pipelines import step, pipeline

SCALE = 1

@step
def first(n: int) -> int:
    return n * SCALE

@step
def second(v: int) -> int:
    if {fail}:
        raise RuntimeError("the input file is missing")
    return v + 1

@step
def noisy(n: int) -> int:
    return time.perf_counter_ns() if {noisy} else n

@pipeline
def flow(n: int = 3):
    return second(first(n)), noisy(n)
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _commit(workspace: Path, noisy: bool = False) -> None:
    git(workspace, "init", "-q")
    (workspace / "flows.py").write_text(FLOW.format(fail=False, noisy=noisy))
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "flow")


def test_pipeline_run_from_python_is_reproduced_step_by_step(workspace: Path) -> None:
    _commit(workspace)
    # uncommitted: a different scale; the re-run must apply the recorded diff to match
    (workspace / "flows.py").write_text(
        FLOW.format(fail=False, noisy=False).replace("SCALE = 1", "SCALE = 5")
    )
    run = load_file(workspace / "flows.py", "flows_repro_a").flow(executor="inline")
    assert run.output() == (16, 3)
    lines: list[str] = []
    report = reproduce_pipeline(open_session(workspace), run.id, echo=lines.append)
    assert report.identical, (report.output, report.comparisons)
    assert report.new_id is not None and report.new_id != run.id
    keys = {(c.kind, c.key) for c in report.comparisons}
    assert {("output", "first.output"), ("output", "second.output")} <= keys
    assert any("applying the recorded uncommitted diff" in line for line in lines)
    # without the cache: every step really ran again
    rerun = open_session(workspace).store
    children = [r for r in rerun.list_runs("proj", limit=100) if r.parent_id == report.new_id]
    assert children and all(r.tags["tether.step.cached"] == "false" for r in children)


def test_pipeline_run_from_the_cli_is_reproduced_and_differences_are_named(
    workspace: Path,
) -> None:
    _commit(workspace, noisy=True)
    env = dict(os.environ)
    tether_cli = [sys.executable, "-m", "tether"]
    out = subprocess.run(
        [*tether_cli, "pipeline", "run", "flows.py:flow", "-p", "n=2"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    run_id = out.split("pipeline run ")[1].split()[0]
    proc = subprocess.run(
        [*tether_cli, "reproduce", run_id], cwd=workspace, capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any("same" in ln and "output second.output" in ln for ln in lines), proc.stdout
    assert any("differs" in ln and "output noisy.output" in ln for ln in lines), proc.stdout


def test_a_failed_rerun_shows_its_errors(workspace: Path) -> None:
    """The step reads an ignored file that the rebuilt worktree lacks: its error is shown."""
    git(workspace, "init", "-q")
    (workspace / "flows.py").write_text(
        FLOW.format(fail='not Path("data.csv").exists()', noisy=False)
    )
    (workspace / ".gitignore").write_text("data.csv\n")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "flow")
    (workspace / "data.csv").write_text("1\n")
    run = load_file(workspace / "flows.py", "flows_repro_c").flow(executor="inline")
    assert run.status == "finished"
    report = reproduce_pipeline(open_session(workspace), run.id, echo=lambda s: None)
    assert report.returncode != 0
    assert not report.identical
    assert "the input file is missing" in report.output


@pytest.mark.slow
def test_equal_estimators_compare_as_the_same_result(write_module: WriteModule) -> None:
    """skops writes a refitted estimator as other bytes; reproduce compares it by value."""
    from tether.pipelines.reproduce import compare_pipeline_runs

    mod = write_module(
        """
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from tether.pipelines import step, pipeline

        @step(cache=False)
        def fit(seed: int) -> LogisticRegression:
            x = np.random.RandomState(seed).rand(30, 2)
            return LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))

        @pipeline
        def flow(seed: int = 0):
            return fit(seed)
        """
    )
    a, b = mod.flow(executor="inline"), mod.flow(executor="inline")
    assert a.steps["fit"].outputs != b.steps["fit"].outputs
    comparisons = compare_pipeline_runs(open_session(), a.id, b.id)
    assert [c.key for c in comparisons] == ["fit", "fit.output"]
    assert all(c.same for c in comparisons)
    other = mod.flow(seed=1, executor="inline")
    assert not all(c.same for c in compare_pipeline_runs(open_session(), a.id, other.id))
