"""The statistics behind the detectors, on NumPy arrays: each matches SciPy's definition
(tests/monitoring/test_stats.py compares them), without importing scipy.stats."""

from __future__ import annotations

from typing import Any

import numpy as np

PSI_FLOOR = 1e-4  # share given to an empty bin, so that PSI stays finite


def ks_exact(a: Any, b: Any) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of two sorted samples (scipy.stats.ks_2samp)."""
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / len(a)
    cdf_b = np.searchsorted(b, both, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Two-sided p-value of the KS statistic by Smirnov's asymptotic distribution, as
    ``ks_2samp(method="asymp")`` computes it."""
    from scipy.stats import kstwo  # imported only when a KS test runs

    big, small = max(n, m), min(n, m)
    en = round(big * small / (big + small))
    return float(np.clip(kstwo.sf(d, max(en, 1)), 0.0, 1.0))


def wasserstein_exact(a: Any, b: Any) -> float:
    """First Wasserstein distance of two sorted samples (scipy.stats.wasserstein_distance)."""
    both = np.sort(np.concatenate([a, b]))
    deltas = np.diff(both)
    cdf_a = np.searchsorted(a, both[:-1], side="right") / len(a)
    cdf_b = np.searchsorted(b, both[:-1], side="right") / len(b)
    return float(np.sum(np.abs(cdf_a - cdf_b) * deltas))


def psi(p: Any, q: Any) -> float:
    """Population stability index of two distributions over the same bins (shares or counts)."""
    p = np.maximum(np.asarray(p, dtype=np.float64) / np.sum(p), PSI_FLOOR)
    q = np.maximum(np.asarray(q, dtype=np.float64) / np.sum(q), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def chi2_homogeneity(a: Any, b: Any) -> tuple[float, float, int]:
    """Chi-square test that two samples of counts over the same categories come from one
    distribution: statistic, p-value, degrees of freedom (scipy.stats.chi2_contingency on the
    2 x k table, without Yates' correction)."""
    from scipy.special import chdtrc

    table = np.vstack([a, b]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    k = table.shape[1]
    if k < 2 or table.sum(axis=1).min() == 0:
        return 0.0, 1.0, max(k - 1, 0)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    dof = k - 1
    return stat, float(chdtrc(dof, stat)), dof


def jensenshannon(a: Any, b: Any) -> float:
    """Jensen-Shannon distance (natural log) of two count vectors over the same categories
    (scipy.spatial.distance.jensenshannon)."""
    p = np.asarray(a, dtype=np.float64)
    q = np.asarray(b, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(x: Any) -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log(x[nz] / m[nz])))

    return float(np.sqrt(max((kl(p) + kl(q)) / 2, 0.0)))


def benjamini_hochberg(pvalues: Any) -> Any:
    """Benjamini-Hochberg adjusted p-values (scipy.stats.false_discovery_control)."""
    p = np.asarray(pvalues, dtype=np.float64)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.clip(ranked, 0.0, 1.0)
    return out
