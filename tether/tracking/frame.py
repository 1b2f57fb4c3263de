"""Runs as a pandas DataFrame: one row a run, columns for attributes, params, metrics, tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tether.errors import MissingDependency

if TYPE_CHECKING:
    import pandas as pd

    from tether.tracking.view import RunView


def runs_frame(runs: list[RunView]) -> pd.DataFrame:
    """The runs as a frame; their metrics should be loaded already (``RunView.many``)."""
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependency("RunList.to_pandas()", "pandas", "pandas") from None
    rows: list[dict[str, Any]] = []
    for r in runs:
        row: dict[str, Any] = {
            "run_id": r.id,
            "name": r.name,
            "experiment": r.experiment,
            "status": r.status,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "parent_id": r.parent_id,
        }
        row.update({f"params.{k}": v for k, v in r.params.items()})
        row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
        row.update({f"tags.{k}": v for k, v in r.tags.items()})
        rows.append(row)
    return pd.DataFrame(rows)
