"""Tracked runs: params, metrics, artifacts, lineage, automatic capture, reproduction."""

from tether.tracking.active import ActiveRun
from tether.tracking.api import (
    active_run,
    flush,
    get_run,
    log_artifact,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    run,
    search_runs,
    set_tags,
)
from tether.tracking.view import RunList, RunView

__all__ = [
    "ActiveRun",
    "RunList",
    "RunView",
    "active_run",
    "flush",
    "get_run",
    "log_artifact",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "run",
    "search_runs",
    "set_tags",
]
