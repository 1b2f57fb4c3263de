"""Drift and performance as Prometheus gauges (text exposition format), for a server's
``/metrics`` to append, so that Grafana dashboards can chart them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tether.monitoring.report import DriftReport


def _label(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return f'"{text}"'


def _value(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x))


def _sample(name: str, labels: Mapping[str, object], value: float) -> str:
    inner = ",".join(f"{k}={_label(v)}" for k, v in labels.items())
    return f"{name}{{{inner}}} {_value(value)}"


def drift_gauges(report: DriftReport, model: str) -> str:
    """``tether_drift_score`` per tested column (the test's statistic), ``tether_drift``
    (1 drifted, 0 not) per column, and ``tether_drift_share`` for the model."""
    lines = [
        "# HELP tether_drift_score Latest drift statistic per column (see the test label).",
        "# TYPE tether_drift_score gauge",
    ]
    tested = [c for c in report.columns if c.drift is not None and c.statistic is not None]
    for c in tested:
        assert c.statistic is not None
        labels = {"model": model, "column": c.column, "role": c.role, "test": c.test}
        lines.append(_sample("tether_drift_score", labels, c.statistic))
    lines += ["# HELP tether_drift Whether the column drifted (1) or not (0).",
              "# TYPE tether_drift gauge"]  # fmt: skip
    for c in tested:
        flag = 1.0 if c.drift else 0.0
        lines.append(_sample("tether_drift", {"model": model, "column": c.column}, flag))
    lines += [
        "# HELP tether_drift_share Share of the model's features that drifted.",
        "# TYPE tether_drift_share gauge",
        _sample("tether_drift_share", {"model": model}, report.share_drifted),
    ]
    return "\n".join(lines) + "\n"


def performance_gauges(table: Any, model: str) -> str:
    """``tether_performance`` for each metric of the latest window of a ``performance`` or
    ``estimate`` table (``estimated="true"`` on estimates, and on the ``estimated_*`` columns
    of a ``model_performance`` table)."""
    lines = [
        "# HELP tether_performance Latest window's performance metric of the model.",
        "# TYPE tether_performance gauge",
    ]
    if len(table):
        last = table[table["window"] == table["window"].max()]
        skip = {"window", "predictions", "labelled", "estimated", "estimated_rows"}
        for _, row in last.iterrows():
            extra = {
                k: row[k] for k in row.index if k not in skip and not isinstance(row[k], float)
            }
            for metric in row.index:
                if metric in skip or metric in extra:
                    continue
                # model_performance's CBPE columns: estimated_<metric>
                guessed = metric.startswith("estimated_") or bool(row.get("estimated", False))
                name = metric.removeprefix("estimated_")
                labels = {"model": model, "metric": name, **extra}
                labels["estimated"] = "true" if guessed else "false"
                lines.append(_sample("tether_performance", labels, float(row[metric])))
    return "\n".join(lines) + "\n"
