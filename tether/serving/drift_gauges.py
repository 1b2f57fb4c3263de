"""The latest ``monitor.drift`` and ``monitor.performance`` events of each served model
(tether.monitoring records them) as Prometheus gauges on ``/metrics``: two audit-log queries per
scrape at most every ``TTL_S`` seconds, so a dashboard shows drift and performance next to
latency. Names and labels are those of ``tether.monitoring.drift_gauges`` and
``performance_gauges``."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.store import Store

log = logging.getLogger(__name__)

ACTION = "monitor.drift"
PERFORMANCE = "monitor.performance"
SCAN = 200  # events read back to find each served model's latest
TTL_S = 10.0


def _label(value: object) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def _latest(events: Iterable[Any], models: Iterable[str]) -> dict[str, Any]:
    wanted = set(models)
    latest: dict[str, Any] = {}
    for event in events:
        if event.target in wanted and event.target not in latest:
            latest[event.target] = event
    return latest


def render_performance(events: Iterable[Any], models: Iterable[str]) -> str:
    """``tether_performance`` lines from ``monitor.performance`` events (newest first)."""
    lines = []
    for model, event in sorted(_latest(events, models).items()):
        detail = event.detail or {}
        if not isinstance(detail.get("metric"), str):
            continue
        version = detail.get("version")
        labels = f"model={_label(model)},metric={_label(detail['metric'])}"
        if version is not None:
            labels += f",version={_label(version)}"
        # measured on the labelled predictions; estimated (CBPE) on the unlabelled ones
        for key, estimated in (("value", "false"), ("estimated", "true")):
            value = _number(detail.get(key))
            if value is not None:
                lines.append(f'tether_performance{{{labels},estimated="{estimated}"}} {value!r}')
    if not lines:
        return ""
    head = ["# HELP tether_performance Latest window's performance metric of the model.",
            "# TYPE tether_performance gauge"]  # fmt: skip
    return "\n".join(head + lines) + "\n"


def render(events: Iterable[Any], models: Iterable[str]) -> str:
    """Gauge lines from audit events (newest first) for ``models`` (names)."""
    latest = _latest(events, models)
    if not latest:
        return ""
    score = ["# HELP tether_drift_score Latest drift statistic per column (see the test label).",
             "# TYPE tether_drift_score gauge"]  # fmt: skip
    flag = ["# HELP tether_drift Whether the column drifted (1) or not (0).",
            "# TYPE tether_drift gauge"]  # fmt: skip
    share = ["# HELP tether_drift_share Share of the model's features that drifted.",
             "# TYPE tether_drift_share gauge"]  # fmt: skip
    for model, event in sorted(latest.items()):
        detail = event.detail or {}
        m = _label(model)
        columns = detail.get("columns")
        for column, c in sorted(columns.items()) if isinstance(columns, dict) else []:
            if not isinstance(c, dict):
                continue
            stat = _number(c.get("statistic"))
            col = _label(column)
            if stat is not None:
                score.append(
                    f"tether_drift_score{{model={m},column={col},test={_label(c.get('test'))}}}"
                    f" {stat!r}"
                )
            flag.append(f"tether_drift{{model={m},column={col}}} {1.0 if c.get('drift') else 0.0}")
        value = _number(detail.get("share_drifted"))
        if value is not None:
            share.append(f"tether_drift_share{{model={m}}} {value!r}")
    return "\n".join(score + flag + share) + "\n"


class DriftGauges:
    """Cached ``render`` of the store's latest events for the served models."""

    def __init__(self, store: Store, project: str, models: list[str]) -> None:
        self.store = store
        self.project = project
        self.models = models
        self._text = ""
        self._at = -math.inf

    def text(self) -> str:
        now = time.monotonic()
        if now - self._at < TTL_S:
            return self._text
        try:
            events = self.store.list_audit(project=self.project, action=ACTION, limit=SCAN)
            scores = self.store.list_audit(project=self.project, action=PERFORMANCE, limit=SCAN)
            self._text = render(events, self.models) + render_performance(scores, self.models)
        except Exception as e:  # a scrape must not fail because the store is unreachable
            log.warning("drift gauges: the audit log cannot be read: %s", e)
        self._at = now
        return self._text
