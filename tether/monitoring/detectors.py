"""The drift tests, by name, and the default one for a column (docs/monitoring.md).

A p-value test flags drift when its p-value (adjusted for the number of columns tested) is
below ``alpha``; a distance flags drift when it reaches its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.monitoring import stats
from tether.monitoring.errors import UnknownTest
from tether.monitoring.window import CategoricalWindow, NumericWindow, aligned

SMALL_REFERENCE = 1_000  # up to this many reference rows: p-value tests; above: distances


@dataclass(frozen=True)
class Detector:
    name: str
    kinds: tuple[str, ...]  # the column kinds it applies to
    pvalue: bool  # a statistical test (p-value) rather than a distance
    threshold: float  # for a distance: drift at or above it


DETECTORS = {
    d.name: d
    for d in (
        Detector("ks", ("numeric",), True, 0.0),
        Detector("wasserstein", ("numeric",), False, 0.1),
        Detector("psi", ("numeric", "categorical"), False, 0.1),
        Detector("chisquare", ("categorical",), True, 0.0),
        Detector("jensenshannon", ("categorical",), False, 0.1),
    )
}


def get_detector(name: str, kind: str, column: str) -> Detector:
    d = DETECTORS.get(name)
    if d is None:
        raise UnknownTest(name, f"no such test; the tests are: {', '.join(DETECTORS)}")
    if kind not in d.kinds:
        raise UnknownTest(
            name, f"column {column!r} is {kind} and {name} tests {' or '.join(d.kinds)} columns"
        )
    return d


def default_detector(kind: str, reference_rows: int) -> Detector:
    """Kolmogorov-Smirnov / chi-square for a small reference, normalised Wasserstein /
    Jensen-Shannon above SMALL_REFERENCE rows, where every p-value test flags differences
    too small to matter."""
    small = reference_rows <= SMALL_REFERENCE
    if kind == "numeric":
        return DETECTORS["ks" if small else "wasserstein"]
    return DETECTORS["chisquare" if small else "jensenshannon"]


def run_detector(d: Detector, window: NumericWindow | CategoricalWindow) -> tuple[float, Any]:
    """The statistic and p-value (None for a distance) of ``d`` on one column."""
    numeric_test = d.name in ("ks", "wasserstein")
    if isinstance(window, NumericWindow) and (numeric_test or not window.ref.few):
        if d.name == "ks":
            s = window.ks()
            return s, stats.ks_pvalue(s, window.ref.count, window.n)
        if d.name == "wasserstein":
            return window.wasserstein(), None
        ref_share, cur_share = window.psi_bins()
        return stats.psi(ref_share, cur_share), None
    ref_counts, cur_counts = category_counts(window)
    if d.name == "chisquare":
        s, p, _ = stats.chi2_homogeneity(ref_counts, cur_counts)
        return s, p
    if d.name == "jensenshannon":
        return stats.jensenshannon(ref_counts, cur_counts), None
    return stats.psi(ref_counts, cur_counts), None


def category_counts(window: NumericWindow | CategoricalWindow) -> tuple[Any, Any]:
    counts = window.few if isinstance(window, NumericWindow) else window.counts
    assert counts is not None and window.ref.counts is not None
    _, ref, cur = aligned(window.ref.categories, window.ref.counts, counts)
    return ref, cur
