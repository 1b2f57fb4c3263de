"""``tether.Metrics``: a step that returns metrics has them recorded on its run.

A step's output (or one of its outputs) that is a :class:`Metrics` is logged as metrics of the
step's run at step 0, so pipeline runs can be searched and sorted by them like any run
(``tether.search_runs("metrics.accuracy > 0.9")``), and it is stored as a plain JSON dict that
downstream steps receive.
"""

from __future__ import annotations

import math
from typing import Any

from tether.pipelines.errors import InvalidPipeline


class Metrics(dict[str, float]):
    """``Metrics(accuracy=0.93, loss=0.2)``: numbers by name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in self.items():
            if not isinstance(key, str) or not key.strip():
                raise InvalidPipeline(f"Metrics: name {key!r} must be a non-empty string")
            if isinstance(value, bool) or not isinstance(value, int | float):
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise InvalidPipeline(
                        f"Metrics: {key!r} must be a number, not {type(value).__name__}"
                    ) from None
            self[key] = float(value)

    def json_value(self) -> dict[str, float | None]:
        """The value stored as the step's output: a plain dict (NaN and infinities as None)."""
        return {k: (v if math.isfinite(v) else None) for k, v in self.items()}
