"""One pass over the current table, column by column and batch by batch, against a reference
profile: a numeric column is counted into a fine grid over the reference's range (plus exact
sums beyond it), a categorical one into category counts. Small windows also keep their values,
so that their statistics are exact; large ones are compared on the grid (docs/monitoring.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tether.monitoring.columns import number_label, numeric_values, value_counts
from tether.monitoring.reference import ColumnStats

EXACT_ROWS = 20_000  # a window up to this many values per column is compared exactly
GRID_PER_STD = 200  # grid cells per reference standard deviation (W1 error <= std / 200)
GRID_MIN, GRID_MAX = 1_000, 65_536


class NumericWindow:
    def __init__(self, ref: ColumnStats) -> None:
        self.ref = ref
        self.n = 0
        self.nulls = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.kept: list[Any] | None = []
        self.lo, self.hi = ref.min, ref.max
        span = self.hi - self.lo
        if ref.count and span > 0:
            cells = math.ceil(span / ref.std * GRID_PER_STD) if ref.std > 0 else GRID_MIN
            self.bins = int(min(max(cells, GRID_MIN), GRID_MAX))
            self.scale = self.bins / span
        else:
            self.bins, self.scale = 1, 0.0
        self.hist = np.zeros(self.bins, dtype=np.int64)
        self.under_n = self.over_n = 0
        self.under_sum = self.over_sum = 0.0
        self.few: dict[str, int] | None = {} if ref.few else None

    def add(self, arr: Any) -> None:
        v, nulls = numeric_values(arr)
        self.nulls += nulls
        if not len(v):
            return
        self.n += len(v)
        self.sum += float(v.sum())
        self.min = min(self.min, float(v.min()))
        self.max = max(self.max, float(v.max()))
        if self.kept is not None:
            if self.n <= EXACT_ROWS:
                self.kept.append(v)
            else:
                self.kept = None
        if self.few is not None:
            u, c = np.unique(v, return_counts=True)
            for x, k in zip(u.tolist(), c.tolist(), strict=True):
                label = number_label(x)
                self.few[label] = self.few.get(label, 0) + k
        if not self.ref.count:
            return
        below = v < self.lo
        above = v > self.hi
        nb, na = int(np.count_nonzero(below)), int(np.count_nonzero(above))
        t = (v - self.lo) * self.scale
        np.clip(t, 0, self.bins - 1, out=t)
        self.hist += np.bincount(t.astype(np.intp), minlength=self.bins)
        if nb:
            self.hist[0] -= nb
            self.under_n += nb
            self.under_sum += float((self.lo - v[below]).sum())
        if na:
            self.hist[-1] -= na
            self.over_n += na
            self.over_sum += float((v[above] - self.hi).sum())

    # --- what the detectors read

    @property
    def exact(self) -> bool:
        return self.kept is not None

    def values(self) -> Any:
        """The window's values, sorted (only for an exact window)."""
        assert self.kept is not None
        return np.sort(np.concatenate(self.kept)) if self.kept else np.zeros(0)

    def grid(self) -> tuple[Any, Any, Any]:
        """Grid edges, and both distribution functions there: P(X < edge) at every edge but
        the last, P(X <= max) at the last."""
        edges = np.linspace(self.lo, self.hi, self.bins + 1)
        ref = np.searchsorted(self.ref.values, edges, side="left") / len(self.ref.values)
        ref[-1] = 1.0
        cum = np.concatenate(([0], np.cumsum(self.hist)))
        cur = (self.under_n + cum) / self.n
        return edges, ref, cur

    def ks(self) -> float:
        from tether.monitoring import stats

        if self.exact:
            return stats.ks_exact(self.ref.values, self.values())
        _, ref, cur = self.grid()
        return float(np.max(np.abs(ref - cur)))

    def wasserstein(self) -> float:
        """W1 between the tables divided by the reference's standard deviation."""
        from tether.monitoring import stats

        if self.exact:
            w = stats.wasserstein_exact(self.ref.values, self.values())
        else:
            edges, ref, cur = self.grid()
            d = np.abs(ref - cur)
            w = float(np.sum((d[:-1] + d[1:]) / 2 * np.diff(edges)))
            w += (self.under_sum + self.over_sum) / self.n
        if self.ref.std > 0:
            return w / self.ref.std
        return 0.0 if w == 0 else math.inf

    def psi_bins(self) -> tuple[Any, Any]:
        """Counts of both tables in the reference's ten deciles."""
        ref_values = self.ref.values
        cuts = np.unique(np.quantile(ref_values, np.linspace(0.1, 0.9, 9)))
        ref_cum = np.searchsorted(ref_values, cuts, side="left") / len(ref_values)
        if self.exact:
            cur_cum = np.searchsorted(self.values(), cuts, side="left") / self.n
        else:
            edges, _, cur = self.grid()
            cur_cum = np.interp(cuts, edges, cur)
        ref_share = np.diff(np.concatenate(([0.0], ref_cum, [1.0])))
        cur_share = np.diff(np.concatenate(([0.0], cur_cum, [1.0])))
        return ref_share, cur_share

    def plot(self, bars: int = 40) -> dict[str, Any]:
        """Shares of both tables over ``bars`` equal bins of the reference's range, and the
        window's shares below and above it."""
        lo, hi = self.lo, self.hi if self.hi > self.lo else self.lo + 1.0
        edges = np.linspace(lo, hi, bars + 1)
        ref_values = self.ref.values
        ref_cum = np.searchsorted(ref_values, edges, side="left") / len(ref_values)
        ref_cum[-1] = 1.0
        if self.exact:
            vals = self.values()
            cur_cum = (np.searchsorted(vals, edges, side="left") / self.n) if self.n else ref_cum
            if self.n:
                cur_cum[-1] = 1.0 - self.over_n / self.n
        else:
            g_edges, _, g_cur = self.grid()
            cur_cum = np.interp(edges, g_edges, g_cur)
        return {
            "type": "numeric",
            "edges": edges.tolist(),
            "reference": np.diff(ref_cum).tolist(),
            "current": np.diff(cur_cum).tolist(),
            "current_below": self.under_n / self.n if self.n else 0.0,
            "current_above": self.over_n / self.n if self.n else 0.0,
        }


class CategoricalWindow:
    def __init__(self, ref: ColumnStats) -> None:
        self.ref = ref
        self.n = 0
        self.nulls = 0
        self.counts: dict[str, int] = {}

    def add(self, arr: Any) -> None:
        keys, counts, nulls = value_counts(arr)
        self.nulls += nulls
        self.n += int(counts.sum())
        for k, c in zip(keys, counts.tolist(), strict=True):
            self.counts[k] = self.counts.get(k, 0) + c


def aligned(
    ref_cats: list[str], ref_counts: Any, cur: dict[str, int]
) -> tuple[list[str], Any, Any]:
    """Both count vectors over the union of categories (the reference's first)."""
    known = set(ref_cats)
    cats = list(ref_cats) + sorted(k for k in cur if k not in known)
    ref = np.zeros(len(cats), dtype=np.int64)
    ref[: len(ref_cats)] = ref_counts
    now = np.array([cur.get(k, 0) for k in cats], dtype=np.int64)
    return cats, ref, now
