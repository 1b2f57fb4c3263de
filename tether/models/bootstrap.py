"""The paired bootstrap of a metric's improvement, over the same rows for both models.

Each resample draws ``n`` row indices with replacement, once, and applies them to both models'
per-row values, so the two metrics in a resample are computed on the same rows. Nothing is
materialised per resample beyond a vector of draw counts (``metrics.py``: every metric is a
weighted sum of per-row statistics, ROC AUC a weighted count over sorted scores):

- when the rows' statistics of both models take few distinct values (accuracy, F1: each row is
  one of a handful of (right, wrong) cases), the number of draws of each distinct row is exactly
  multinomial, so a resample costs one multinomial draw over those few cases, not ``n`` draws;
- otherwise (log loss, regression errors), resamples are drawn in chunks as index arrays and
  each statistic is summed over the drawn rows (``np.take``), a few columns in all;
- ROC AUC and the calibration error turn the drawn indices into count vectors (``bincount``)
  and weigh rows with them; they cost more per resample and use at most
  ``Metric.max_resamples`` (200) resamples, recorded in the result.

Both give the same distribution as resampling indices one by one. The confidence bound is the
percentile bound of the bootstrap distribution of the improvement: the lower bound at
``confidence`` is its ``1 - confidence`` quantile. A seed makes it reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.models.errors import EvaluationMismatch
from tether.models.metrics import Metric, Predictions, check_metric, mean_of_rows

if TYPE_CHECKING:
    import numpy as np

MAX_DISTINCT = 4096  # distinct per-row statistics up to which the multinomial shortcut is used
CHUNK_CELLS = 2_000_000  # resamples x rows drawn at once in the general path
MAX_GATHER_COLUMNS = 8  # up to this many statistics, sum them by gathering drawn rows


@dataclass(frozen=True)
class BootstrapResult:
    metric: str
    improvement: float  # challenger over champion, positive = better, on all rows
    low: float  # lower confidence bound of the improvement
    high: float  # upper confidence bound
    confidence: float
    resamples: int
    seed: int | None
    method: str  # "multinomial" or "draws"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "improvement": self.improvement,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
            "method": self.method,
        }


def paired_bootstrap(
    metric: Metric,
    challenger: Predictions,
    champion: Predictions,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> BootstrapResult:
    """The improvement of ``metric`` from ``champion`` to ``challenger`` and its bounds."""
    import numpy as np

    if challenger.rows != champion.rows:
        raise EvaluationMismatch(
            f"challenger has {challenger.rows} rows, champion {champion.rows}; evaluate both on "
            "the same data"
        )
    check_metric(metric, challenger)
    check_metric(metric, champion)
    sign = 1.0 if metric.higher_is_better else -1.0
    point = sign * (metric.compute(challenger) - metric.compute(champion))
    rng = np.random.default_rng(seed)
    n = challenger.rows
    if metric.max_resamples is not None:
        resamples = min(resamples, metric.max_resamples)
    if metric.stats is not None and metric.combine is not None:
        a, b = metric.stats(challenger), metric.stats(champion)
        mean = metric.combine is mean_of_rows  # a mean: the mean of the per-row differences
        k = a.shape[1]
        columns, where = _shared_columns(a - b if mean else np.concatenate([a, b], axis=1))
        distinct = _distinct_rows(columns)
        if distinct is not None:
            rows, freq = distinct
            counts = rng.multinomial(n, freq / n, size=resamples).astype(np.float64)
            sums, method = counts @ rows, "multinomial"
        elif columns.shape[1] <= MAX_GATHER_COLUMNS:
            sums, method = _gathered_sums(rng, columns, resamples), "draws"
        else:
            chunks = _count_chunks(rng, n, resamples)
            sums, method = np.concatenate([c @ columns for c in chunks]), "draws"
        sums = sums[:, where]
        total = np.full(resamples, float(n))
        with np.errstate(divide="ignore", invalid="ignore"):
            if mean:
                diffs = sums[:, 0] / total
            else:
                diffs = metric.combine(sums[:, :k], total) - metric.combine(sums[:, k:], total)
    else:
        parts = [
            metric.values(challenger, counts) - metric.values(champion, counts)
            for counts in _count_chunks(rng, n, resamples)
        ]
        diffs, method = np.concatenate(parts), "draws"
    diffs = sign * diffs
    alpha = 1.0 - confidence
    finite = diffs[~np.isnan(diffs)]  # NaN: the metric is undefined on that resample
    if len(finite) == 0:
        low = high = float("nan")
    else:
        low, high = (float(v) for v in np.quantile(finite, [alpha, confidence]))
    return BootstrapResult(metric.name, point, low, high, confidence, resamples, seed, method)


def _shared_columns(stats: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """``stats`` without repeated columns (both models' target sums of R2), and the mapping."""
    import numpy as np

    kept: list[int] = []
    where: list[int] = []
    for j in range(stats.shape[1]):
        same = next(
            (i for i, c in enumerate(kept) if np.array_equal(stats[:, c], stats[:, j])), None
        )
        if same is None:
            kept.append(j)
            same = len(kept) - 1
        where.append(same)
    return np.ascontiguousarray(stats[:, kept]), where


def _gathered_sums(rng: np.random.Generator, columns: np.ndarray, resamples: int) -> np.ndarray:
    """Column sums over drawn rows, per resample, gathering each column by the drawn indices."""
    import numpy as np

    n = len(columns)
    cols = [np.ascontiguousarray(columns[:, j]) for j in range(columns.shape[1])]
    out = np.empty((resamples, len(cols)))
    chunk = max(1, min(resamples, CHUNK_CELLS // max(n, 1)))
    for start in range(0, resamples, chunk):
        c = min(chunk, resamples - start)
        idx = rng.integers(0, n, size=(c, n), dtype=np.int64)
        for j, col in enumerate(cols):
            out[start : start + c, j] = np.take(col, idx).sum(axis=1)
    return out


def _distinct_rows(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct rows of ``stats`` and how often each occurs, when there are few."""
    import numpy as np

    n = len(stats)
    probe = stats[:: max(1, n // 2000)]
    if len(np.unique(probe, axis=0)) > MAX_DISTINCT // 8:
        return None
    rows, freq = np.unique(stats, axis=0, return_counts=True)
    if len(rows) > MAX_DISTINCT:
        return None
    return rows, freq.astype(np.float64)


def _count_chunks(rng: np.random.Generator, n: int, resamples: int) -> Any:
    """Draw-count matrices (chunk x n) of ``resamples`` resamples, a chunk at a time."""
    import numpy as np

    chunk = max(1, min(resamples, CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < resamples:
        c = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(c, n), dtype=np.int64)
        idx += (np.arange(c, dtype=np.int64) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=c * n).reshape(c, n).astype(np.float64)
        done += c
