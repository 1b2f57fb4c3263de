"""How runs end when their process does: SIGTERM, uncaught exceptions, exit, SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import tether
from tether.tracking.session import Session
from tether.tracking.view import RunView

from .conftest import run_script

T = TypeVar("T")

LOOP = """
import sys, time, tether
run = tether.run(name="loop")
print(run.id, flush=True)
step = 0
while True:
    run.log_metrics({"step_time": time.time()}, step=step)
    if step == 20:
        print("logging", flush=True)
    step += 1
    time.sleep(0.01)
"""


def _start_loop(workspace: Path) -> tuple[subprocess.Popen[str], str]:
    (workspace / "loop.py").write_text(LOOP)
    proc = subprocess.Popen(
        [sys.executable, "loop.py"],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "logging", proc.stderr.read() if proc.stderr else ""
    return proc, run_id


def test_sigterm_ends_the_run_killed_with_metrics_flushed(workspace: Path) -> None:
    proc, run_id = _start_loop(workspace)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM  # the signal still ends the process
    run = tether.get_run(run_id)
    assert run.status == "killed" and run.error == "SIGTERM"
    assert run.metric_summaries["step_time"].count > 20


def _until(what: str, found: Callable[[], T | None]) -> T:
    """Poll ``found`` until it returns a value; the bound only keeps a failure from hanging the
    suite (what is checked is that it happens, not how fast)."""
    give_up = time.monotonic() + 30
    while (value := found()) is None:
        assert time.monotonic() < give_up, what
        time.sleep(0.05)
    return value


def test_sigkill_leaves_a_dead_run_with_what_was_written_while_it_ran(workspace: Path) -> None:
    """The background writer stores metrics while the loop runs, so a SIGKILL, which no
    handler sees, loses only the points logged since its last write."""
    proc, run_id = _start_loop(workspace)

    def twenty_points() -> int | None:
        try:
            summary = tether.get_run(run_id).metric_summaries.get("step_time")
        except tether.TetherError:  # not written yet
            return None
        return summary.count if summary and summary.count >= 20 else None

    seen = _until("no metric reached the store while the process ran", twenty_points)
    assert proc.poll() is None
    proc.kill()
    proc.communicate(timeout=30)
    run = tether.get_run(run_id)
    assert run.run.status == "running"  # the stored status: nobody was left to change it
    assert run.status == "dead"  # the status shown: its process is gone
    steps = [p.step for p in run.metric_history("step_time")]
    assert steps == list(range(len(steps)))  # what was logged, in order, up to the last write
    assert len(steps) >= seen


def test_uncaught_exception_fails_the_run(workspace: Path) -> None:
    proc = run_script(
        "import tether\nrun = tether.run()\nprint(run.id)\nraise ValueError('bad data')\n",
        workspace,
        check=False,
    )
    assert proc.returncode == 1 and "ValueError: bad data" in proc.stderr
    run = tether.get_run(proc.stdout.split()[0])
    assert run.status == "failed" and "ValueError: bad data" in (run.error or "")


def test_a_run_left_open_finishes_at_exit(workspace: Path) -> None:
    proc = run_script(
        "import tether\nrun = tether.run()\nrun.log_metric('m', 1.0)\nprint(run.id)\n", workspace
    )
    run = tether.get_run(proc.stdout.split()[0])
    assert (run.status, run.metrics) == ("finished", {"m": 1.0})


def test_sys_exit_inside_with(workspace: Path, session: Session) -> None:
    proc = run_script(
        "import sys, tether\nwith tether.run() as run:\n    print(run.id)\n    sys.exit(3)\n",
        workspace,
        check=False,
    )
    assert proc.returncode == 3
    assert tether.get_run(proc.stdout.split()[0]).status == "failed"


def test_a_short_run_reaches_the_store_while_its_process_lives_on(workspace: Path) -> None:
    """Run records are written in batches by the background thread, not at the process's
    end: the run is in the store while the process still sleeps."""
    code = (
        "import time, tether\n"
        "with tether.run(name='short') as run:\n"
        "    run.log_metric('m', 2.0)\n"
        "print(run.id, flush=True)\n"
        "time.sleep(600)\n"
    )
    (workspace / "short.py").write_text(code)
    proc = subprocess.Popen(
        [sys.executable, "short.py"], cwd=workspace, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()

        def stored() -> RunView | None:
            try:
                return tether.get_run(run_id)
            except tether.TetherError:
                return None

        run = _until("the run was not written while its process ran", stored)
        assert proc.poll() is None
        assert (run.status, run.metrics) == ("finished", {"m": 2.0})
    finally:
        proc.kill()
        proc.communicate(timeout=30)


def test_runs_ended_just_before_exit_are_written(workspace: Path) -> None:
    proc = run_script(
        "import tether\n"
        "for i in range(3):\n"
        "    with tether.run(params={'i': i}) as run:\n"
        "        run.log_metric('m', i)\n"
        "    print(run.id)\n",
        workspace,
    )
    runs = [tether.get_run(rid) for rid in proc.stdout.split()]
    assert [(r.status, r.params["i"], r.metrics["m"]) for r in runs] == [
        ("finished", "0", 0.0),
        ("finished", "1", 1.0),
        ("finished", "2", 2.0),
    ]
