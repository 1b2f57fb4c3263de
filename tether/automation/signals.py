"""What the triggers watch: dataset versions, the cron schedule and monitoring events.

Monitoring reports through the audit log, one event per window:

- ``action="monitor.drift"``, ``target=MODEL``, ``detail={"share_drifted": 0.4, ...}``: the
  share (0 to 1) of the model's input columns that drifted in the window;
- ``action="monitor.performance"``, ``target=MODEL``, ``detail={"metric": "accuracy",
  "value": 0.81, ...}``: a metric measured on delayed labels.

Only the latest event of each kind for the model counts; each event triggers at most once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tether.automation.policy import LoopPolicy
from tether.store import AuditEvent, Store
from tether.store.errors import DatasetNotFound

DRIFT = "monitor.drift"
PERFORMANCE = "monitor.performance"
SCAN = 50  # monitoring events of other models read past to find this model's latest


@dataclass(frozen=True)
class Signal:
    """A trigger found by looking: recorded once per ``key``."""

    key: str
    kind: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
    baseline: bool = False  # recorded as seen, without training (a schedule's first sighting)


def latest_monitor_event(store: Store, project: str, action: str, model: str) -> AuditEvent | None:
    """The newest ``monitor.drift``/``monitor.performance`` event about ``model``."""
    for event in store.list_audit(project=project, action=action, limit=SCAN):
        if event.target == model:
            return event
    return None


def find_signals(
    policy: LoopPolicy, store: Store, project: str, now: datetime, *, scheduled_before: bool
) -> list[Signal]:
    """Every trigger that holds now; ``scheduled_before``: a schedule trigger was ever recorded."""
    found: list[Signal] = []
    triggers = policy.triggers
    if triggers.new_data is not None:
        try:
            latest = store.get_dataset_version(project, triggers.new_data)
        except DatasetNotFound:
            latest = None
        if latest is not None:
            ref = f"{latest.dataset}@{latest.version}"
            found.append(
                Signal(
                    f"new_data:{ref}", "new_data", f"new dataset version {ref}", {"dataset": ref}
                )
            )
    if triggers.schedule is not None:
        from tether.config.cron import last_fire

        fire = last_fire(triggers.schedule, now)
        found.append(
            Signal(
                f"schedule:{fire.isoformat()}",
                "schedule",
                f"schedule {triggers.schedule!r} fired at {fire.isoformat()}",
                {"fired_at": fire.isoformat()},
                baseline=not scheduled_before,
            )
        )
    if triggers.drift is not None:
        event = latest_monitor_event(store, project, DRIFT, policy.model)
        share = _figure(event, "share_drifted")
        if event is not None and share is not None and share > triggers.drift:
            found.append(
                Signal(
                    f"drift:{event.id}",
                    "drift",
                    f"drift: {share:.0%} of the columns drifted (threshold {triggers.drift:.0%})",
                    {"event": event.id, "share_drifted": share, "threshold": triggers.drift},
                )
            )
    perf = triggers.performance
    if perf is not None:
        event = latest_monitor_event(store, project, PERFORMANCE, policy.model)
        value = _figure(event, "value")
        if (
            event is not None
            and value is not None
            and (event.detail or {}).get("metric") == perf.metric
            and value < perf.below
        ):
            found.append(
                Signal(
                    f"performance:{event.id}",
                    "performance",
                    f"performance: {perf.metric} {value:g} below {perf.below:g}",
                    {"event": event.id, "metric": perf.metric, "value": value, "below": perf.below},
                )
            )
    return found


def _figure(event: AuditEvent | None, key: str) -> float | None:
    if event is None or not event.detail:
        return None
    value = event.detail.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
