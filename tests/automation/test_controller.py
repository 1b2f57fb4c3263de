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


def _with_triggers(c: Controller, **triggers: object) -> Controller:
    from dataclasses import replace

    from tether.automation.policy import parse_loop

    loop = c.loops["churn"]
    table = {
        "model": loop.model, "pipeline": loop.pipeline, "dataset": loop.dataset,
        "target": loop.target, "gate": dict(loop.gate), "executor": "inline",
        "triggers": triggers,
    }  # fmt: skip
    c.loops["churn"] = replace(parse_loop("churn", table), retry=loop.retry)
    return c


def test_drift_in_the_latest_window_retrains_once(ws: Path) -> None:
    from tether.automation import DRIFT

    add_version(ws, seed=1)
    c = _with_triggers(controller(ws), new_data=True, drift=0.3)
    c.tick()
    c.workspace.store.record_audit(
        actor="monitor", action=DRIFT, target="churn", outcome="ok", project="proj",
        detail={"share_drifted": 0.6},
    )  # fmt: skip
    [outcome] = c.tick()
    assert outcome.new_triggers and outcome.new_triggers[0].startswith("drift:")
    assert outcome.action in ("promoted", "kept")
    assert c.tick()[0].action == "idle"  # the same window does not trigger again


def test_the_schedule_fires_once_per_fire_time_and_not_at_set_up(ws: Path) -> None:
    from datetime import UTC, datetime

    add_version(ws, seed=1)
    now = [datetime(2026, 12, 6, 14, 30, tzinfo=UTC)]
    c = _with_triggers(controller(ws, clock=lambda: now[0]), schedule="0 3 * * *")
    assert c.tick()[0].action == "idle"  # seen: a baseline, no training at set-up
    assert c.tick()[0].action == "idle"
    now[0] = datetime(2026, 12, 7, 3, 1, tzinfo=UTC)
    [outcome] = c.tick()
    assert outcome.new_triggers == ["schedule:2026-12-07T03:00:00+00:00"]
    assert outcome.action == "promoted"
    assert c.tick()[0].action == "idle"


def test_while_a_failed_attempt_backs_off_new_triggers_wait_too(ws: Path) -> None:
    from dataclasses import replace

    from tether.automation.policy import Retry

    set_mode(ws, "fail")
    add_version(ws, seed=1)
    c = controller(ws)
    c.loops["churn"] = replace(c.loops["churn"], retry=Retry(3600, 3600, 5))
    assert c.tick()[0].action == "failed"
    trigger(c.workspace, "churn", "try again")
    [outcome] = c.tick()
    assert outcome.action == "waiting" and "back-off" in outcome.message
    assert _kinds(c.workspace).count("attempt") == 1


def test_a_controller_started_before_anything_was_recorded_waits_quietly(ws: Path) -> None:
    """A fresh workspace (no dataset, no run yet: the project is not in the store): the ticks
    are idle, not errors, and the first dataset version triggers the loop."""
    c = controller(ws)
    assert [o.action for o in c.tick()] == ["idle"]
    assert [o.action for o in c.tick()] == ["idle"]
    add_version(ws, seed=1)
    assert [o.action for o in c.tick()] == ["promoted"]


def test_a_dry_run_before_anything_was_recorded_says_nothing_to_do(ws: Path) -> None:
    c = controller(ws, dry_run=True)
    assert [o.action for o in c.tick()] == ["idle"]
