"""The controller on a real workspace (SQLite and PostgreSQL): triggers, promotion, keeping the
champion, back-off after a failed training run, dry runs, leases."""

from __future__ import annotations

import time
from pathlib import Path

from tether.automation import Controller, load_loops, trigger
from tether.workspace import Workspace, open_workspace

from .kit import add_version, set_mode


def controller(root: Path, **kw: object) -> Controller:
    ws = open_workspace(root)
    return Controller(ws, load_loops(ws.config_path), **kw)  # type: ignore[arg-type]


def _moves(ws: Workspace) -> list[tuple[int | None, int]]:
    return [(e.from_version, e.to_version) for e in ws.store.list_alias_events("proj", "churn")]


def _kinds(ws: Workspace) -> list[str]:
    return [e.kind for e in reversed(ws.store.list_loop_events("proj", "churn"))]


def test_a_new_dataset_version_trains_gates_and_promotes_once(ws: Path) -> None:
    add_version(ws, seed=1)
    c = controller(ws)
    [outcome] = c.tick()
    assert outcome.action == "promoted"
    assert outcome.new_triggers == ["new_data:churn@1"]
    assert _moves(c.workspace) == [(None, 1)]
    assert _kinds(c.workspace) == ["triggered", "attempt", "trained", "promoted"]
    events = c.workspace.store.list_loop_events("proj", "churn")
    [event] = [e for e in events if e.kind == "promoted"]
    assert event.detail is not None
    assert event.detail["to"] == "churn@1" and event.detail["pipeline_run"]
    assert event.detail["reasons"]
    # nothing new: the next tick does nothing
    [again] = c.tick()
    assert again.action == "idle"
    assert _moves(c.workspace) == [(None, 1)]


def test_a_weaker_challenger_is_kept_out_with_the_gates_reasons(ws: Path) -> None:
    add_version(ws, seed=1)
    c = controller(ws)
    assert c.tick()[0].action == "promoted"
    set_mode(ws, "weak")
    add_version(ws, seed=2)
    [outcome] = c.tick()
    assert outcome.action == "kept"
    assert _moves(c.workspace) == [(None, 1)]
    kept = c.workspace.store.list_loop_events("proj", "churn")[0]
    assert kept.kind == "kept" and kept.detail is not None
    assert kept.detail["challenger"] == "churn@2" and kept.detail["from"] == "churn@1"
    assert any("accuracy" in r for r in kept.detail["reasons"])


def test_a_failed_training_run_keeps_the_champion_and_retries_after_back_off(ws: Path) -> None:
    add_version(ws, seed=1)
    c = controller(ws)
    c.tick()
    set_mode(ws, "fail")
    add_version(ws, seed=2)
    [failed] = c.tick()
    assert failed.action == "failed"
    assert "training broke" in failed.message or "fit" in failed.message
    assert failed.detail["backoff_s"] == 0.05
    assert _moves(c.workspace) == [(None, 1)]
    event = c.workspace.store.list_loop_events("proj", "churn")[0]
    assert event.kind == "failed" and event.detail is not None and event.detail["attempt"] == 1
    set_mode(ws, "strong")
    time.sleep(0.06)  # past the back-off
    [retried] = c.tick()
    assert retried.trigger_id == failed.trigger_id
    assert retried.action in ("promoted", "kept")
    row = c.workspace.store.list_loop_triggers("proj", "churn", limit=1)[0]
    assert row.status == "done" and row.attempts == 2


def test_training_that_keeps_failing_is_given_up_after_max_attempts(ws: Path) -> None:
    set_mode(ws, "fail")
    add_version(ws, seed=1)
    c = controller(ws)
    actions = []
    for _ in range(3):
        actions.append(c.tick()[0].action)
        time.sleep(0.25)
    assert actions == ["failed", "failed", "gave_up"]
    assert c.tick()[0].action == "idle"


def test_a_manual_trigger_is_acted_on_once(ws: Path) -> None:
    add_version(ws, seed=1)
    c = controller(ws)
    c.tick()
    row = trigger(c.workspace, "churn", "new features")
    [outcome] = c.tick()
    assert outcome.trigger_id == row.id and outcome.action in ("promoted", "kept")
    assert c.tick()[0].action == "idle"


def test_the_dry_run_says_what_it_would_do_and_changes_nothing(ws: Path) -> None:
    add_version(ws, seed=1)
    c = controller(ws, dry_run=True)
    [outcome] = c.tick()
    assert outcome.action == "would_train"
    assert "loopproj.train:training" in outcome.message
    assert c.workspace.store.list_loop_triggers("proj", "churn") == []
    assert "churn" not in c.workspace.store.list_models("proj")


def test_a_controller_without_the_lease_does_nothing(ws: Path) -> None:
    add_version(ws, seed=1)
    leader = controller(ws, holder="leader")
    assert leader.store.acquire_loop_lease("proj", "churn", "leader", 60)
    other = controller(ws, holder="other")
    [outcome] = other.tick()
    assert outcome.action == "busy" and "leader" in outcome.message
    assert other.store.list_loop_triggers("proj", "churn") == []


def test_one_attempt_answers_every_trigger_waiting_when_it_started(ws: Path) -> None:
    add_version(ws, seed=1)
    c = controller(ws)
    c.tick()
    first = trigger(c.workspace, "churn", "one")
    second = trigger(c.workspace, "churn", "two")
    [outcome] = c.tick()
    assert outcome.trigger_id == first.id and outcome.detail["covered"] == [second.id]
    assert c.tick()[0].action == "idle"
    assert _kinds(c.workspace).count("attempt") == 2
