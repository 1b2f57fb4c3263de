"""How runs end when their process does: SIGTERM, uncaught exceptions, exit, SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import tether
from tether.tracking.session import Session

from .conftest import run_script

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


def test_sigkill_leaves_a_dead_run_missing_at_most_the_last_second(workspace: Path) -> None:
    proc, run_id = _start_loop(workspace)
    time.sleep(1.5)
    killed_at = time.time()
    proc.kill()
    proc.communicate(timeout=30)
    run = tether.get_run(run_id)
    assert run.run.status == "running"  # the stored status: nobody was left to change it
    assert run.status == "dead"  # the status shown: its process is gone
    last_logged = run.metrics["step_time"]
    assert killed_at - last_logged < 1.0, f"lost {killed_at - last_logged:.2f}s of metrics"


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


def test_a_short_run_reaches_the_store_within_a_second(workspace: Path) -> None:
    """Run records are written in batches by the background thread, not at the block's end."""
    code = (
        "import time, tether\n"
        "with tether.run(name='short') as run:\n"
        "    run.log_metric('m', 2.0)\n"
        "print(run.id, flush=True)\n"
        "time.sleep(60)\n"
    )
    (workspace / "short.py").write_text(code)
    proc = subprocess.Popen(
        [sys.executable, "short.py"], cwd=workspace, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        ended = time.monotonic()
        while True:
            try:
                run = tether.get_run(run_id)
                break
            except tether.TetherError:
                assert time.monotonic() - ended < 2.0, "the run was not written within 2 s"
                time.sleep(0.05)
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
