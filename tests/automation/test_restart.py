"""Real controller processes killed with SIGKILL at the worst moments, then started again:
exactly one promotion, no trigger lost; two controllers at once: one acts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tether.workspace import open_workspace

from .kit import add_version, set_mode

pytestmark = pytest.mark.slow


KILL_AFTER_PROMOTION = str(Path(__file__).with_name("_kill_after_promotion.py"))
KILL_DURING_GATE = str(Path(__file__).with_name("_kill_during_gate.py"))


def _start(root: Path, *args: str, script: str | None = None) -> subprocess.Popen[str]:
    cmd = [script] if script else ["-m", "tether", "loop", "tick"]
    return subprocess.Popen(
        [sys.executable, *cmd, *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: SIGKILL reaches any worker too
    )


def _tick(root: Path, *args: str) -> str:
    proc = _start(root, *args)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return out


def _moves(root: Path) -> list[tuple[int | None, int]]:
    store = open_workspace(root).store
    if "churn" not in store.list_models("proj"):
        return []
    return [(e.from_version, e.to_version) for e in store.list_alias_events("proj", "churn")]


def _kinds(root: Path) -> list[str]:
    store = open_workspace(root).store
    return [e.kind for e in reversed(store.list_loop_events("proj", "churn"))]


def test_killed_during_training_the_restarted_controller_trains_and_promotes_once(
    ws: Path,
) -> None:
    add_version(ws, seed=1)
    set_mode(ws, "hang")
    proc = _start(ws)
    started = ws / "loopproj" / "training.started"
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert _moves(ws) == []
    set_mode(ws, "strong")
    out = _tick(ws)  # the dead controller's lease is taken over: same host, process gone
    assert "champion moved None -> churn@" in out, out
    assert len(_moves(ws)) == 1
    assert _kinds(ws) == ["triggered", "attempt", "resumed", "trained", "promoted"]
    assert "nothing to do" in _tick(ws)
    assert len(_moves(ws)) == 1


def test_killed_right_after_the_promotion_the_restart_records_it_and_moves_nothing(
    ws: Path,
) -> None:
    add_version(ws, seed=1)
    proc = _start(ws, script=KILL_AFTER_PROMOTION)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, out
    assert _moves(ws) == [(None, 1)]  # moved, and nothing recorded after it
    store = open_workspace(ws).store
    [row] = store.list_loop_triggers("proj", "churn")
    assert row.status == "running" and row.detail is not None
    assert row.detail["challenger"] == "churn@1"
    out = _tick(ws)
    assert "champion moved None -> churn@1" in out, out
    assert _moves(ws) == [(None, 1)]  # not moved again, not retrained
    assert _kinds(ws)[-2:] == ["resumed", "promoted"]
    [row] = store.list_loop_triggers("proj", "churn")
    assert row.status == "done"
    assert [v.version for v in store.list_model_versions("proj", "churn")] == [1]


def test_killed_during_the_gate_the_restart_gates_the_same_challenger_and_promotes_once(
    ws: Path,
) -> None:
    add_version(ws, seed=1)
    set_mode(ws, "weak")
    assert "champion moved None -> churn@1" in _tick(ws)  # a champion: the next one is gated
    set_mode(ws, "strong")
    add_version(ws, seed=2)
    proc = _start(ws, script=KILL_DURING_GATE)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, out
    assert "gating churn@2" in out, out
    assert _moves(ws) == [(None, 1)]  # died before the alias moved
    store = open_workspace(ws).store
    row = store.list_loop_triggers("proj", "churn", statuses=("running",))[0]
    assert row.detail is not None and row.detail["challenger"] == "churn@2"
    out = _tick(ws)
    assert "champion moved churn@1 -> churn@2" in out, out
    assert _moves(ws) == [(None, 1), (1, 2)]
    assert _kinds(ws)[-5:] == ["triggered", "attempt", "trained", "resumed", "promoted"]
    assert store.list_loop_triggers("proj", "churn", statuses=("pending", "running")) == []
    versions = store.list_model_versions("proj", "churn")
    assert [v.version for v in versions] == [1, 2]  # the challenger was not trained again
    assert "nothing to do" in _tick(ws)
    assert _moves(ws) == [(None, 1), (1, 2)]


def test_two_controllers_at_once_act_on_a_trigger_once(ws: Path) -> None:
    add_version(ws, seed=1)
    set_mode(ws, "slow")
    procs = [_start(ws, "--id", name) for name in ("one", "two")]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert _kinds(ws).count("attempt") == 1, outs
    assert _kinds(ws).count("triggered") == 1, outs
    assert _moves(ws) == [(None, 1)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_loop_run_ticks_until_a_signal_then_stops_cleanly(ws: Path, sig: signal.Signals) -> None:
    add_version(ws, seed=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tether", "loop", "run", "--interval", "0.1"],
        cwd=ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # promoted on the first tick, then idle ticks
        lines.append(line)
        if "champion moved" in line:
            break
    proc.send_signal(sig)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(lines) + rest
    assert "controller stopped" in rest
    assert _moves(ws) == [(None, 1)]
