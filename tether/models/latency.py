"""Prediction latency, per row and per batch, measured on a bounded number of calls."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.models.errors import InvalidData

if TYPE_CHECKING:
    import pandas as pd

ROW_CALLS = 100  # single-row predict calls timed
BATCH_CALLS = 20  # predict calls of BATCH_SIZE rows timed
BATCH_SIZE = 100


@dataclass(frozen=True)
class Latency:
    """Milliseconds of one ``predict`` call: p50 and p99 of single rows and of batches."""

    row_p50_ms: float
    row_p99_ms: float
    batch_p50_ms: float
    batch_p99_ms: float
    row_calls: int
    batch_calls: int
    batch_size: int

    def to_dict(self) -> dict[str, float]:
        return {
            "row_p50_ms": self.row_p50_ms,
            "row_p99_ms": self.row_p99_ms,
            "batch_p50_ms": self.batch_p50_ms,
            "batch_p99_ms": self.batch_p99_ms,
            "row_calls": self.row_calls,
            "batch_calls": self.batch_calls,
            "batch_size": self.batch_size,
        }


def measure_latency(
    model: Any,
    x: pd.DataFrame,
    *,
    row_calls: int = ROW_CALLS,
    batch_calls: int = BATCH_CALLS,
    batch_size: int = BATCH_SIZE,
) -> Latency:
    """Time ``model.predict`` on the first rows of ``x`` (one untimed warm-up call each).

    The inputs are sliced before timing, so only the model's call is measured.
    """
    import numpy as np

    n = len(x)
    rows = [x.iloc[i % n : i % n + 1] for i in range(min(row_calls, n) + 1)]
    size = min(batch_size, n)
    starts = [(i * size) % max(n - size + 1, 1) for i in range(batch_calls + 1)]
    batches = [x.iloc[s : s + size] for s in starts]
    row_ms = _timed(model, rows)
    batch_ms = _timed(model, batches)
    p = np.percentile
    return Latency(
        float(p(row_ms, 50)),
        float(p(row_ms, 99)),
        float(p(batch_ms, 50)),
        float(p(batch_ms, 99)),
        len(row_ms),
        len(batch_ms),
        size,
    )


def _timed(model: Any, inputs: list[pd.DataFrame]) -> list[float]:
    predict = model.predict
    try:
        predict(inputs[0])  # warm-up: caches, lazy initialisation
    except Exception as exc:  # the model's own code
        raise InvalidData(
            f"model.predict failed on {len(inputs[0])} row(s) while timing it: "
            f"{type(exc).__name__}: {exc} (evaluate with latency=False to skip timing)"
        ) from exc
    out = []
    for chunk in inputs[1:]:
        start = time.perf_counter_ns()
        predict(chunk)
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out
