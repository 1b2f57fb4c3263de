"""Monitoring: drift detectors over a reference and a current table, data quality, reports.

Names are imported on first use, so ``import tether.monitoring`` loads no NumPy or pyarrow.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.monitoring.alerts import Alert, Alerter, alerts_for
    from tether.monitoring.cache import profile
    from tether.monitoring.compare import drift
    from tether.monitoring.detectors import DETECTORS
    from tether.monitoring.errors import (
        BadLabels,
        BadSetting,
        CorruptProfile,
        EmptyWindow,
        NoTrainingData,
        UnknownColumn,
        UnknownTest,
        UnreadableTable,
    )
    from tether.monitoring.issues import Issue
    from tether.monitoring.labels import log_labels, model_performance, read_labels
    from tether.monitoring.lineage import training_reference
    from tether.monitoring.predictions import PredictionWindow, drift_window
    from tether.monitoring.prometheus import drift_gauges, performance_gauges
    from tether.monitoring.reference import ReferenceProfile
    from tether.monitoring.report import ColumnResult, DriftReport
    from tether.monitoring.scoring import estimate, performance
    from tether.monitoring.served import monitor

_LAZY = {
    "Alert": "tether.monitoring.alerts",
    "Alerter": "tether.monitoring.alerts",
    "alerts_for": "tether.monitoring.alerts",
    "drift": "tether.monitoring.compare",
    "profile": "tether.monitoring.cache",
    "ReferenceProfile": "tether.monitoring.reference",
    "DriftReport": "tether.monitoring.report",
    "ColumnResult": "tether.monitoring.report",
    "Issue": "tether.monitoring.issues",
    "DETECTORS": "tether.monitoring.detectors",
    "PredictionWindow": "tether.monitoring.predictions",
    "drift_window": "tether.monitoring.predictions",
    "drift_gauges": "tether.monitoring.prometheus",
    "performance_gauges": "tether.monitoring.prometheus",
    "performance": "tether.monitoring.scoring",
    "estimate": "tether.monitoring.scoring",
    "training_reference": "tether.monitoring.lineage",
    "NoTrainingData": "tether.monitoring.errors",
    "EmptyWindow": "tether.monitoring.errors",
    "BadLabels": "tether.monitoring.errors",
    "monitor": "tether.monitoring.served",
    "log_labels": "tether.monitoring.labels",
    "read_labels": "tether.monitoring.labels",
    "model_performance": "tether.monitoring.labels",
    "BadSetting": "tether.monitoring.errors",
    "CorruptProfile": "tether.monitoring.errors",
    "UnknownColumn": "tether.monitoring.errors",
    "UnknownTest": "tether.monitoring.errors",
    "UnreadableTable": "tether.monitoring.errors",
}

__all__ = [
    "DETECTORS",
    "Alert",
    "Alerter",
    "BadLabels",
    "BadSetting",
    "ColumnResult",
    "CorruptProfile",
    "DriftReport",
    "EmptyWindow",
    "Issue",
    "NoTrainingData",
    "PredictionWindow",
    "ReferenceProfile",
    "UnknownColumn",
    "UnknownTest",
    "UnreadableTable",
    "alerts_for",
    "drift",
    "drift_gauges",
    "drift_window",
    "estimate",
    "log_labels",
    "model_performance",
    "monitor",
    "performance",
    "performance_gauges",
    "profile",
    "read_labels",
    "training_reference",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
