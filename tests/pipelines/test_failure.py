"""Failure, resume, timeouts and retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.pipelines import PipelineFailed, resume
from tether.tracking.session import open_session

from .conftest import WriteModule

FLOW = """
from pathlib import Path
from tether.pipelines import step, pipeline

def bump(name):
    p = Path(name + ".count")
    n = int(p.read_text()) + 1 if p.exists() else 1
    p.write_text(str(n))

@step
def source() -> int:
    bump("source")
    return 1

@step
def fragile(v: int) -> int:
    bump("fragile")
    if Path("BROKEN").exists():
        raise ValueError("fragile is broken")
    return v + 1

@step
def after(v: int) -> int:
    bump("after")
    return v * 10

@step(cache=False)
def other(v: int) -> int:
    bump("other")
    return v - 1

@pipeline
def flow():
    s = source()
    return after(fragile(s)), other(s)
"""


def _count(workspace: Path, name: str) -> int:
    p = workspace / f"{name}.count"
    return int(p.read_text()) if p.exists() else 0


def test_failure_stops_dependents_and_resume_reruns_them(
    write_module: WriteModule, workspace: Path, executor: str
) -> None:
    (workspace / "BROKEN").touch()
    mod = write_module(FLOW)
    with pytest.raises(PipelineFailed, match="fragile") as raised:
        mod.flow(executor=executor)
    run = raised.value.result  # the partial results travel with the error
    assert run.status == "failed" and run.failed == ["fragile"]
    assert run.steps["other"].load() == 0  # a finished branch's output is there to load
    statuses = {n: s.status for n, s in run.steps.items()}
    assert statuses == {
        "source": "finished",
        "fragile": "failed",
        "after": "skipped",
        "other": "finished",
    }
    assert "fragile is broken" in (run.steps["fragile"].error or "")
    parent = open_session().store.get_run(run.id)
    assert parent.status == "failed" and "fragile" in (parent.error or "")
    with pytest.raises(PipelineFailed, match="fragile"):
        run.output()

    (workspace / "BROKEN").unlink()
    resumed = resume(run.id, executor=executor)
    assert resumed.status == "finished"
    assert resumed.output() == (20, 0)
    # only the failed step and its dependents ran again; `other` (cache=False) was reused
    assert {n: s.cached for n, s in resumed.steps.items()} == {
        "source": True,
        "fragile": False,
        "after": False,
        "other": True,
    }
    counts = [_count(workspace, n) for n in ("source", "fragile", "after", "other")]
    assert counts == [1, 2, 1, 1]


def test_retries_and_timeouts(write_module: WriteModule, workspace: Path, executor: str) -> None:
    mod = write_module(
        """
        import time
        from pathlib import Path
        from tether.pipelines import step, pipeline

        @step(retries=2)
        def flaky() -> int:
            p = Path("tries")
            n = int(p.read_text()) + 1 if p.exists() else 1
            p.write_text(str(n))
            if n < 3:
                raise RuntimeError(f"attempt {n} fails")
            return n

        @step(timeout=0.5)
        def slow() -> int:
            time.sleep(5)
            return 1

        @step
        def quick() -> int:
            return 2

        @pipeline
        def flow():
            return flaky(), slow(), quick()
        """
    )
    run = mod.flow(executor=executor, raise_on_failure=False)  # the run, failed, not an error
    assert run.steps["flaky"].status == "finished" and run.steps["flaky"].attempts == 3
    assert run.steps["flaky"].load() == 3
    assert run.steps["slow"].status == "failed"
    assert "timed out" in (run.steps["slow"].error or "")
    assert run.steps["quick"].status == "finished"
    assert run.failed == ["slow"]
