"""The seam to the prediction log: a window of a served model's logged requests and outputs.

``tether.serving.predictions(name, start=..., end=...)`` is to satisfy this protocol; a monitor
passes the Arrow table it returns to ``drift`` as the current table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class PredictionWindow(Protocol):
    def __call__(self, model: str, *, start: datetime, end: datetime) -> Any:
        """The logged predictions of ``model`` (``NAME@ALIAS`` or ``NAME@VERSION``) with
        ``start <= time < end``, as a ``pyarrow.Table``: one row per prediction, a
        ``request_id`` column, the model's input features, and its output column(s)."""
        ...
