"""Monitors stored as configuration: ``[monitor.NAME]`` tables in ``.tether/config.toml``, each a
served model, a window, drift and performance thresholds, a webhook and a cron schedule.
``run_monitor`` checks one now; ``tick`` checks every monitor whose schedule fired since its
last check (kept in ``.tether/monitors.json``, written atomically)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.config.cron import check_cron, last_fire
from tether.errors import TetherError
from tether.monitoring.errors import InvalidMonitor, MonitorNotFound

if TYPE_CHECKING:
    from tether.monitoring.alerts import Alert
    from tether.workspace import Workspace

KEYS = {
    "model", "window", "tests", "alpha", "threshold", "drift_share", "metric", "minimum",
    "task", "webhook", "quiet_period", "schedule",
}  # fmt: skip
STATE = "monitors.json"
ALERTS = "alerts.json"


@dataclass
class Monitor:
    name: str
    model: str
    window: str = "1h"
    tests: str | dict[str, str] | None = None
    alpha: float = 0.05
    threshold: float | None = None
    drift_share: float = 0.5
    metric: str | None = None
    minimum: float | None = None
    task: str = "classification"
    webhook: str | None = None
    quiet_period: timedelta = field(default_factory=lambda: timedelta(hours=1))
    schedule: str | None = None


def parse_monitor(name: str, table: Any, *, source: str | None = None) -> Monitor:
    from tether.monitoring.served import parse_window

    prefix = f"monitor.{name}"

    def bad(key: str, message: str) -> InvalidMonitor:
        return InvalidMonitor(f"{prefix}.{key}" if key else prefix, message, source)

    if not isinstance(table, Mapping):
        raise bad("", "must be a table")
    for key in table:
        if key not in KEYS:
            raise bad(key, f"unknown key; a monitor has {', '.join(sorted(KEYS))}")

    def text(key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise bad(key, f"must be a non-empty string, not {value!r}")
        return value.strip() if value is not None else None

    def number(key: str, lo: float, hi: float | None) -> float | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(key, f"must be a number, not {value!r}")
        if value < lo or (hi is not None and value > hi):
            span = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise bad(key, f"must be {span}, not {value!r}")
        return float(value)

    model = text("model")
    if model is None:
        raise bad("model", "is required: the served model, NAME@ALIAS or NAME@N")
    if "@" not in model:
        raise bad("model", f"must be NAME@ALIAS or NAME@N, not {model!r}")
    monitor = Monitor(name=name, model=model)
    for key in ("window", "quiet_period"):
        value = text(key)
        if value is not None:
            try:
                span = parse_window(value)
            except TetherError as e:
                raise bad(key, str(e)) from None
            if key == "window":
                monitor.window = value
            else:
                monitor.quiet_period = span
    tests = table.get("tests")
    if tests is not None and not (
        (isinstance(tests, str) and tests.strip())
        or (isinstance(tests, Mapping) and all(isinstance(v, str) for v in tests.values()))
    ):
        raise bad("tests", "must be a test name or a table of column = test")
    monitor.tests = dict(tests) if isinstance(tests, Mapping) else tests
    alpha = number("alpha", 0.0, 1.0)
    monitor.alpha = monitor.alpha if alpha is None else alpha
    monitor.threshold = number("threshold", 0.0, None)
    share = number("drift_share", 0.0, 1.0)
    monitor.drift_share = monitor.drift_share if share is None else share
    monitor.metric = text("metric")
    monitor.minimum = number("minimum", -float("inf"), None)
    task = text("task") or "classification"
    if task not in ("classification", "regression"):
        raise bad("task", f"must be classification or regression, not {task!r}")
    monitor.task = task
    webhook = text("webhook")
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise bad("webhook", f"must be an http:// or https:// URL, not {webhook!r}")
    monitor.webhook = webhook
    schedule = text("schedule")
    problem = None if schedule is None else check_cron(schedule)
    if problem is not None:
        raise bad("schedule", problem)
    monitor.schedule = schedule
    return monitor


def load_monitors(config_path: str | Path) -> dict[str, Monitor]:
    """Every ``[monitor.NAME]`` table of the workspace config file."""
    import tomllib

    path = Path(config_path)
    try:
        table = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidMonitor("monitor", f"cannot read {str(path)!r}: {e}") from None
    monitors = table.get("monitor", {})
    if not isinstance(monitors, Mapping):
        raise InvalidMonitor("monitor", "must be a table of [monitor.NAME] tables", str(path))
    return {name: parse_monitor(name, t, source=str(path)) for name, t in monitors.items()}


@dataclass
class Outcome:
    monitor: str
    share_drifted: float | None = None
    performance: float | None = None
    alerts: list[Alert] = field(default_factory=list)
    sent: int = 0
    quiet: int = 0
    failed: int = 0
    skipped: str | None = None  # why a part was not checked (no traffic, no labels)


def _performance_alert(m: Monitor, table: Any) -> tuple[float | None, Alert | None]:
    from tether.monitoring.alerts import Alert

    metric = m.metric or ("accuracy" if m.task == "classification" else "rmse")
    if not len(table) or metric not in table.columns:
        return None, None
    value = table[metric].iloc[-1]
    if value != value:  # NaN: no labelled rows in the latest window
        return None, None
    value = float(value)
    if m.minimum is None or value >= m.minimum:
        return value, None
    return value, Alert(
        m.name,
        f"performance:{metric}",
        f"{m.name}: {metric} {value:.4g} is below the minimum {m.minimum:.4g}",
        {"metric": metric, "value": value, "minimum": m.minimum},
    )


def run_monitor(m: Monitor, ws: Workspace, *, now: datetime | None = None) -> Outcome:
    """Drift over the window and, where labels exist, performance; alerts what crosses a
    threshold through the webhook and the log (once per quiet period)."""
    from tether.monitoring.alerts import Alerter, alerts_for
    from tether.monitoring.errors import EmptyWindow
    from tether.monitoring.labels import model_performance
    from tether.monitoring.served import monitor, parse_window

    now = now or datetime.now(UTC)
    out = Outcome(m.name)
    try:
        report = monitor(
            m.model, window=m.window, end=now, workspace=ws, tests=m.tests, alpha=m.alpha,
            threshold=m.threshold, drift_share=m.drift_share,
        )  # fmt: skip
        out.share_drifted = report.share_drifted
        out.alerts.extend(alerts_for(report, m.name))
    except EmptyWindow as e:
        out.skipped = str(e)
    try:
        table = model_performance(
            m.model, window=m.window, start=now - parse_window(m.window), end=now,
            task=m.task, metric=m.metric, workspace=ws,
        )  # fmt: skip
        out.performance, alert = _performance_alert(m, table)
        if alert is not None:
            out.alerts.append(alert)
    except EmptyWindow:  # no labelled predictions in the window: no performance to check
        pass
    alerter = Alerter(
        ws.config_path.parent / ALERTS, webhook=m.webhook, quiet_period=m.quiet_period
    )
    done = alerter.send(out.alerts, now=now)
    out.sent, out.quiet, out.failed = len(done.sent), len(done.quiet), len(done.failed)
    return out


def get_monitor(monitors: Mapping[str, Monitor], name: str) -> Monitor:
    try:
        return monitors[name]
    except KeyError:
        raise MonitorNotFound(name, sorted(monitors)) from None


def due(monitors: Mapping[str, Monitor], ws: Workspace, now: datetime) -> list[Monitor]:
    """The scheduled monitors whose schedule fired after their last check (or never checked)."""
    last = _state(ws)
    out = []
    for m in monitors.values():
        if m.schedule is None:
            continue
        prev = last.get(m.name)
        if prev is None or last_fire(m.schedule, now) > datetime.fromisoformat(prev):
            out.append(m)
    return out


def _state(ws: Workspace) -> dict[str, str]:
    try:
        data = json.loads((ws.config_path.parent / STATE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def tick(ws: Workspace, *, now: datetime | None = None) -> list[Outcome]:
    """Run every monitor whose schedule is due; remember when each ran."""
    from tether.config.atomic import write_text_atomic

    now = now or datetime.now(UTC)
    monitors = load_monitors(ws.config_path)
    outcomes = []
    last = _state(ws)
    for m in due(monitors, ws, now):
        outcomes.append(run_monitor(m, ws, now=now))
        last[m.name] = now.isoformat()
        write_text_atomic(ws.config_path.parent / STATE, json.dumps(last, indent=1, sort_keys=True))
    return outcomes
