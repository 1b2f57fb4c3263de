"""`tether loop`: tick, trigger, status and history on a workspace with a loop, with --json;
bad policies are one-line errors naming the key."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.automation.kit import add_version, make_project

from .conftest import run


@pytest.fixture
def loop_ws(ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("sklearn")
    make_project(ws)
    monkeypatch.syspath_prepend(str(ws))
    for name in [m for m in sys.modules if m.split(".")[0] == "loopproj"]:
        del sys.modules[name]
    return ws


def test_tick_promotes_then_history_and_status_say_so(
    loop_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_version(loop_ws, seed=1)
    assert run("loop", "tick", "--dry-run") == 0
    assert "would run loopproj.train:training" in capsys.readouterr().out
    assert run("loop", "tick", "--json") == 0
    [outcome] = json.loads(capsys.readouterr().out)
    assert outcome["action"] == "promoted" and outcome["detail"]["to"] == "churn@1"
    assert run("loop", "history", "churn") == 0
    out = capsys.readouterr().out
    assert "promoted  None -> churn@1" in out and "new dataset version churn@1" in out
    assert run("loop", "history", "churn", "--json") == 0
    kinds = [e["kind"] for e in json.loads(capsys.readouterr().out)]
    assert kinds == ["promoted", "trained", "attempt", "triggered"]
    assert run("loop", "trigger", "churn", "--reason", "new features") == 0
    capsys.readouterr()
    assert run("loop", "status", "--json") == 0
    [status] = json.loads(capsys.readouterr().out)
    assert status["champion"] == "churn@1"
    assert [t["status"] for t in status["open_triggers"]] == ["pending"]
    assert run("loop", "status") == 0
    assert "churn: churn@champion = churn@1" in capsys.readouterr().out


def test_a_bad_policy_is_one_line_naming_the_key(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws / "p.toml").write_text(
        '[loop.l]\nmodel = "m"\npipeline = "a:b"\ndataset = "d"\ntarget = "y"\n'
        'gate = { primary = "accuracy" }\ntriggers = { drift = 2 }\n'
    )
    assert run("loop", "tick", "--policy", str(ws / "p.toml")) == 1
    err = capsys.readouterr().err.strip()
    assert "loop.l.triggers.drift" in err and "between" in err
    assert len(err.splitlines()) == 1


def test_triggering_an_unknown_loop_is_an_error(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("loop", "trigger", "nope") == 1
    assert "no loop 'nope'" in capsys.readouterr().err
