"""The seam to the prediction log: a window of a served model's logged requests and outputs.

``tether.serving.predictions(name, start=..., end=...)`` is to satisfy this protocol; a monitor
passes the Arrow table it returns to ``drift`` as the current table.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tether.monitoring.report import DriftReport


class PredictionWindow(Protocol):
    def __call__(self, model: str, *, start: datetime, end: datetime) -> Any:
        """The logged predictions of ``model`` (``NAME@ALIAS`` or ``NAME@VERSION``) with
        ``start <= time < end``, as a ``pyarrow.Table``: one row per prediction, a
        ``request_id`` column, the model's input features, and its output column(s)."""
        ...


LOG_COLUMNS = ("request_id", "timestamp", "time", "model", "model_version", "version",
               "latency_ms", "row")  # fmt: skip


def drift_window(
    reference: Any,
    window: PredictionWindow,
    model: str,
    *,
    start: datetime,
    end: datetime,
    prediction: str | None = None,
    workspace: Any = None,
    **options: Any,
) -> DriftReport:
    """Drift of one window of a model's prediction log against ``reference`` (a dataset
    version, typically ``training_reference(run)``): the log's bookkeeping columns
    (LOG_COLUMNS) are left out, the rest is compared as ``drift`` compares tables."""
    from tether.monitoring.cache import profile
    from tether.monitoring.compare import drift

    table = window(model, start=start, end=end)
    prof = profile(reference, workspace=workspace)
    keep = [c for c in table.column_names if c not in LOG_COLUMNS]
    columns = [c for c in prof.columns if c in keep or c not in table.column_names]
    columns += [c for c in keep if c not in prof.columns and c != prediction]
    return drift(prof, table.select(keep), columns=columns, prediction=prediction, **options)
