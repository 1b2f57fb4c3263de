"""Tether: data, code, runs and models bound into one reproducible MLOps loop.

This module is the public Python API. Names are imported on first use, so that
``import tether`` stays instant (no SQLAlchemy, fsspec or NumPy until they are needed).
"""

from __future__ import annotations

from tether.errors import TetherError
from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "run": "tether.tracking.api",
    "active_run": "tether.tracking.api",
    "flush": "tether.tracking.api",
    "log_metric": "tether.tracking.api",
    "log_metrics": "tether.tracking.api",
    "log_param": "tether.tracking.api",
    "log_params": "tether.tracking.api",
    "set_tags": "tether.tracking.api",
    "log_artifact": "tether.tracking.api",
    "log_input": "tether.tracking.api",
    "get_run": "tether.tracking.api",
    "search_runs": "tether.tracking.api",
    "Run": "tether.tracking.api",
    "RunList": "tether.tracking.view",
    "Workspace": "tether.client",
    "dataset": "tether.tracking.datasets",
    "dataset_ref": "tether.data.dataset_ref",
    "DatasetRef": "tether.data.dataset_ref",
    "Metrics": "tether.pipelines.metrics",
    "step": "tether.pipelines",
    "pipeline": "tether.pipelines",
    "shell_step": "tether.pipelines",
    "find_workspace": "tether.config",
    "init_workspace": "tether.config",
}

__all__ = ["TetherError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
