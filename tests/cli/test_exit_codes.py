"""Exit codes people and scripts rely on: 0, 1 for errors, 2 for usage, 130 for Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tether
from tether.config import init_workspace

from .conftest import run

SLOW_FLOW = """
import time
from pathlib import Path
from tether.pipelines import step, pipeline

@step
def slow(n: int) -> int:
    Path("STARTED").write_text("started")
    time.sleep(60)
    return n

@pipeline
def flow(n: int = 1):
    return slow(n)
"""


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path: Path) -> None:
    init_workspace(tmp_path, project="cli")
    (tmp_path / "flow.py").write_text(SLOW_FLOW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tether", "pipeline", "run", "flow.py:flow", "-x", "inline"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal's command gets it: a suite run as a background job (``cmd &``) has
        # SIGINT ignored, which a child would inherit, and then Ctrl-C never reaches it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for _ in range(600):  # the step is running: the command is busy
            if (tmp_path / "STARTED").exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "interrupted (Ctrl-C)\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--version") == 0
    assert capsys.readouterr().out == f"tether {tether.__version__}\n"


def test_usage_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init_workspace(tmp_path, project="cli")
    assert run("lineage", "x", "--depth", "-1") == 2
    assert "Usage: tether lineage" in capsys.readouterr().err
