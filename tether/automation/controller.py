"""The continuous-training controller: one tick evaluates every trigger of every loop.

State lives in the metadata store, so a controller killed at any point and started again goes
on where it stopped:

- every trigger is a ``loop_triggers`` row, recorded once per key (a dataset version, a cron
  fire time, a monitoring event, a manual trigger's id) before anything acts on it;
- the attempt that acts on it marks it ``running`` before training and records the challenger
  (``model@N``) as soon as the pipeline made it; a ``running`` row found by the lease holder
  belongs to a controller that died: it is resumed (training again when no challenger was
  recorded, else gating that challenger);
- the promotion is idempotent: when the alias already points at the recorded challenger the
  attempt records the promotion without moving the alias again, and otherwise
  ``promote_if_better`` compares against the alias's current holder;
- one controller acts on a loop at a time: the one holding the loop's lease row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tether.automation import lease
from tether.automation.policy import LoopPolicy
from tether.automation.signals import Signal, find_signals
from tether.errors import TetherError
from tether.store import LoopTrigger, Store

if TYPE_CHECKING:
    from tether.workspace import Workspace

ACTIONABLE = ("pending", "running", "failed")
RECENT = 50  # recent trigger rows read to see which keys were recorded already
LEASE_S = 60.0


@dataclass
class Outcome:
    """What one tick did (or, with ``dry_run``, would do) for one loop."""

    loop: str
    action: str  # idle, waiting, busy, promoted, kept, failed, gave_up, would_train
    message: str
    new_triggers: list[str] = field(default_factory=list)
    trigger_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "loop": self.loop,
            "action": self.action,
            "message": self.message,
            "new_triggers": self.new_triggers,
            "trigger_id": self.trigger_id,
            **({"detail": self.detail} if self.detail else {}),
        }


def _now() -> datetime:
    return datetime.now(UTC)


class Controller:
    def __init__(
        self,
        workspace: Workspace,
        loops: Mapping[str, LoopPolicy],
        *,
        holder: str | None = None,
        dry_run: bool = False,
        lease_s: float = LEASE_S,
        say: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.workspace = workspace
        self.loops = dict(loops)
        self.holder = holder or lease.default_holder()
        self.dry_run = dry_run
        self.lease_s = lease_s
        self._say = say or (lambda line: None)
        self._clock = clock  # what "now" is for the cron schedule (tests step it)
        self._project_ready = False

    @property
    def store(self) -> Store:
        return self.workspace.store

    @property
    def project(self) -> str:
        return self.workspace.project

    def tick(self) -> list[Outcome]:
        return [self.tick_loop(policy) for policy in self.loops.values()]

    def run(
        self, interval_s: float, should_stop: Callable[[], bool], *, max_ticks: int | None = None
    ) -> None:
        """Tick every ``interval_s`` until ``should_stop()`` (or ``max_ticks``); a failed tick
        is reported and the next one goes on (the store may be briefly unavailable)."""
        done = 0
        while not should_stop() and (max_ticks is None or done < max_ticks):
            started = time.monotonic()
            try:
                for outcome in self.tick():
                    if self.dry_run and outcome.action != "idle":
                        self._say(outcome.message)  # an attempt says its own steps
            except TetherError as e:
                self._say(f"tick failed: {e}")
            done += 1
            if max_ticks is not None and done >= max_ticks:
                break
            while not should_stop() and time.monotonic() - started < interval_s:
                time.sleep(min(0.2, interval_s))

    # one loop ------------------------------------------------------------------------------

    def tick_loop(self, policy: LoopPolicy) -> Outcome:
        store, project, name = self.store, self.project, policy.name
        if self.dry_run:
            from tether.store.errors import ProjectNotFound

            try:
                return self._dry(policy)
            except ProjectNotFound:  # nothing recorded in this project yet
                return Outcome(name, "idle", f"{name}: nothing to do", [])
        if not self._project_ready:  # a fresh workspace: its lease and triggers need the row
            store.get_or_create_project(project)
            self._project_ready = True
        if not lease.acquire(store, project, name, self.holder, self.lease_s):
            held = store.get_loop_lease(project, name)
            who = held[0] if held else "another controller"
            return Outcome(name, "busy", f"{name}: {who} holds the lease; nothing done")
        try:
            new = self._record_signals(policy)
            trigger, waiting = self._next(policy)
            if trigger is None:
                if waiting is not None:
                    assert waiting.next_try_at is not None
                    return Outcome(
                        name,
                        "waiting",
                        f"{name}: trigger #{waiting.id} retries after "
                        f"{waiting.next_try_at.isoformat(timespec='seconds')} (back-off)",
                        new,
                        waiting.id,
                    )
                return Outcome(name, "idle", f"{name}: nothing to do", new)
            with lease.Renewer(store, project, name, self.holder, self.lease_s):
                outcome = self._attempt(policy, trigger)
            outcome.new_triggers = new
            return outcome
        finally:
            store.release_loop_lease(project, name, self.holder)

    def _signals(self, policy: LoopPolicy) -> tuple[list[Signal], set[str]]:
        store, project = self.store, self.project
        recent = store.list_loop_triggers(project, policy.name, limit=RECENT)
        seen = {t.key for t in recent}
        scheduled_before = any(t.kind == "schedule" for t in recent) or (
            policy.triggers.schedule is not None
            and bool(store.list_loop_triggers(project, policy.name, kind="schedule", limit=1))
        )
        found = find_signals(
            policy, store, project, self._clock(), scheduled_before=scheduled_before
        )
        return [s for s in found if s.key not in seen], seen

    def _record_signals(self, policy: LoopPolicy) -> list[str]:
        new: list[str] = []
        signals, _ = self._signals(policy)
        for s in signals:
            row = self.store.add_loop_trigger(
                self.project,
                policy.name,
                key=s.key,
                kind=s.kind,
                reason=s.reason,
                status="done" if s.baseline else "pending",
                detail={**s.detail, **({"baseline": True} if s.baseline else {})},
            )
            if row is None:
                continue  # another controller recorded it first
            if s.baseline:
                continue
            new.append(s.key)
            self._event(
                policy, "triggered", row.id, {"key": s.key, "kind": s.kind, "reason": s.reason}
            )
            self._say(f"{policy.name}: triggered by {s.reason}")
        return new

    def _next(self, policy: LoopPolicy) -> tuple[LoopTrigger | None, LoopTrigger | None]:
        """The trigger to act on now: an interrupted attempt (``running``: its controller
        died), then a failed one past its back-off, then the oldest pending. While a failed
        attempt waits for its back-off nothing else is tried: ``(None, the waiting one)``."""
        rows = self.store.list_loop_triggers(self.project, policy.name, statuses=ACTIONABLE)
        now = _now()
        running = [r for r in rows if r.status == "running"]
        if running:
            return running[0], None
        failed = [r for r in rows if r.status == "failed"]
        due = [r for r in failed if r.next_try_at is None or r.next_try_at <= now]
        if due:
            return due[0], None
        if failed:
            return None, min(failed, key=lambda r: r.next_try_at or now)
        pending = [r for r in rows if r.status == "pending"]
        return (pending[0] if pending else None), None

    def _event(
        self, policy: LoopPolicy, kind: str, trigger_id: int | None, detail: dict[str, Any]
    ) -> None:
        self.store.record_loop_event(
            self.project, policy.name, kind, trigger_id=trigger_id, detail=detail
        )

    # one attempt -------------------------------------------------------------------------

    def _attempt(self, policy: LoopPolicy, trigger: LoopTrigger) -> Outcome:
        store, name = self.store, policy.name
        detail = dict(trigger.detail or {})
        started = _now()
        resumed = trigger.status == "running"
        if not store.update_loop_trigger(
            trigger.id,
            status="running",
            attempts=trigger.attempts,
            detail=detail,
            expect_status=trigger.status,
        ):
            return Outcome(name, "busy", f"{name}: trigger #{trigger.id} was taken by another")
        base = {"trigger": trigger.key, "kind": trigger.kind, "reason": trigger.reason}
        self._event(
            policy,
            "resumed" if resumed else "attempt",
            trigger.id,
            {**base, "attempt": trigger.attempts + 1},
        )
        try:
            challenger = detail.get("challenger")
            if challenger is None:
                self._say(f"{name}: training with {policy.pipeline} on {policy.dataset}@latest")
                run_id, version = _train(policy, self.workspace)
                challenger = f"{version.model}@{version.version}"
                detail.update(challenger=challenger, pipeline_run=run_id)
                store.update_loop_trigger(
                    trigger.id, status="running", attempts=trigger.attempts, detail=detail
                )
                self._event(
                    policy,
                    "trained",
                    trigger.id,
                    {**base, "challenger": challenger, "pipeline_run": run_id},
                )
                self._say(f"{name}: trained {challenger} (pipeline run {run_id})")
            decision = self._decide(policy, trigger, challenger, detail)
        except Exception as e:  # the user's pipeline or model, the store: retried after back-off
            return self._failed(policy, trigger, detail, base, e)
        action = "promoted" if decision["promoted"] else "kept"
        store.update_loop_trigger(
            trigger.id,
            status="done",
            attempts=trigger.attempts + 1,
            detail={**detail, "decision": decision},
        )
        self._event(policy, action, trigger.id, {**base, **decision})
        covered = self._cover_others(policy, trigger, started)
        message = (
            f"{name}: {policy.alias} moved {decision['from']} -> {decision['to']}"
            if decision["promoted"]
            else f"{name}: kept {policy.alias} at {decision['from']}: "
            + "; ".join(decision["reasons"][:3])
        )
        self._say(message)
        return Outcome(
            name,
            action,
            message,
            trigger_id=trigger.id,
            detail={**decision, "covered": covered},
        )

    def _decide(
        self, policy: LoopPolicy, trigger: LoopTrigger, challenger: str, detail: dict[str, Any]
    ) -> dict[str, Any]:
        import tether.models as tm

        store, project = self.store, self.project
        holder = _holder(store, project, policy)
        version = int(challenger.rpartition("@")[2])
        run_ids = {"pipeline_run": detail.get("pipeline_run")}
        if holder == version:  # moved before a restart: record it, do not move it again
            return {
                "promoted": True,
                "from": _previous(store, project, policy, version),
                "to": challenger,
                "challenger": challenger,
                **run_ids,
                "reasons": [f"{policy.alias} already points at {challenger} (resumed)"],
            }
        eval_ref = _latest(store, project, policy.eval_data)
        self._say(f"{policy.name}: gating {challenger} against {policy.alias} on {eval_ref}")
        decision = tm.promote_if_better(
            challenger,
            policy.alias,
            eval_ref,
            policy.gate,
            target=policy.target,
            reason=f"loop {policy.name}: {trigger.reason or trigger.key}",
            workspace=self.workspace,
            actor=f"loop:{policy.name}",
        )
        return {
            "promoted": decision.passed,
            "from": None if holder is None else f"{policy.model}@{holder}",
            "to": challenger
            if decision.passed
            else (None if holder is None else f"{policy.model}@{holder}"),
            "challenger": challenger,
            "eval_data": eval_ref,
            "reasons": decision.reasons,
            "challenger_run": getattr(decision.challenger, "run_id", None),  # a TrackedEvaluation
            "champion_run": getattr(decision.champion, "run_id", None),
            **run_ids,
        }

    def _failed(
        self,
        policy: LoopPolicy,
        trigger: LoopTrigger,
        detail: dict[str, Any],
        base: dict[str, Any],
        error: Exception,
    ) -> Outcome:
        attempts = trigger.attempts + 1
        retry = policy.retry
        info = {**base, "error": str(error), "attempt": attempts}
        if attempts >= retry.max_attempts:
            self.store.update_loop_trigger(
                trigger.id, status="gave_up", attempts=attempts, detail={**detail, **info}
            )
            self._event(policy, "gave_up", trigger.id, info)
            message = (
                f"{policy.name}: gave up on trigger #{trigger.id} after {attempts} attempts: "
                f"{error}"
            )
            self._say(message)
            return Outcome(policy.name, "gave_up", message, trigger_id=trigger.id, detail=info)
        wait = retry.wait_s(attempts)
        at = _now() + timedelta(seconds=wait)
        info["retry_at"] = at.isoformat()
        info["backoff_s"] = wait
        self.store.update_loop_trigger(
            trigger.id,
            status="failed",
            attempts=attempts,
            next_try_at=at,
            detail={**detail, **info},
        )
        self._event(policy, "failed", trigger.id, info)
        message = f"{policy.name}: attempt {attempts} failed ({error}); retry in {wait:g} s"
        self._say(message)
        return Outcome(policy.name, "failed", message, trigger_id=trigger.id, detail=info)

    def _cover_others(self, policy: LoopPolicy, done: LoopTrigger, started: datetime) -> list[int]:
        """Triggers recorded before this attempt started are answered by it: one training on
        the latest data serves them all (one recorded while it ran gets its own attempt)."""
        covered = []
        for row in self.store.list_loop_triggers(self.project, policy.name, statuses=("pending",)):
            if row.created_at > started:
                continue
            if self.store.update_loop_trigger(
                row.id,
                status="done",
                detail={**(row.detail or {}), "covered_by": done.id},
                expect_status="pending",
            ):
                covered.append(row.id)
        return covered

    # dry run -----------------------------------------------------------------------------

    def _dry(self, policy: LoopPolicy) -> Outcome:
        signals, _ = self._signals(policy)
        new = [s.key for s in signals if not s.baseline]
        trigger, waiting = self._next(policy)
        name = policy.name
        if trigger is not None:
            why = trigger.reason or trigger.key
        elif new:
            why = next(s.reason for s in signals if not s.baseline)
        else:
            if waiting is not None and waiting.next_try_at is not None:
                at = waiting.next_try_at.isoformat(timespec="seconds")
                return Outcome(name, "waiting", f"{name}: would wait until {at} (back-off)", new)
            return Outcome(name, "idle", f"{name}: nothing to do", new)
        return Outcome(
            name,
            "would_train",
            f"{name}: would run {policy.pipeline} on {policy.dataset}@latest, gate the model "
            f"against {policy.model}@{policy.alias} and promote it if it passes ({why})",
            new,
            trigger.id if trigger else None,
        )


def _train(policy: LoopPolicy, workspace: Workspace) -> tuple[str, Any]:
    from tether.automation.training import train

    return train(policy, workspace)


def _holder(store: Store, project: str, policy: LoopPolicy) -> int | None:
    from tether.store.errors import AliasNotFound, ModelNotFound

    try:
        return store.get_alias(project, policy.model, policy.alias).version
    except (AliasNotFound, ModelNotFound):
        return None


def _previous(store: Store, project: str, policy: LoopPolicy, version: int) -> str | None:
    for event in reversed(store.list_alias_events(project, policy.model, policy.alias)):
        if event.to_version == version:
            return None if event.from_version is None else f"{policy.model}@{event.from_version}"
    return None


def _latest(store: Store, project: str, dataset: str) -> str:
    """``name`` -> ``name@N``, the latest version now (a path or ``name@N`` stays)."""
    if "@" in dataset and not dataset.endswith("@latest"):
        return dataset
    name = dataset.removesuffix("@latest")
    from tether.store.errors import DatasetNotFound

    try:
        return f"{name}@{store.get_dataset_version(project, name).version}"
    except DatasetNotFound:
        return dataset  # a Parquet path, or an error promote_if_better names
