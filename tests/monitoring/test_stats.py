"""Each statistic against SciPy's result on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as ss
from scipy.spatial.distance import jensenshannon

from tether.monitoring import stats

rng = np.random.default_rng(7)
SAMPLES = [
    (rng.normal(0, 1, 300), rng.normal(0.3, 1.2, 450)),
    (rng.exponential(2, 50), rng.exponential(2, 80)),
    (rng.integers(0, 5, 200).astype(float), rng.integers(0, 6, 100).astype(float)),  # ties
]


@pytest.mark.parametrize(("a", "b"), SAMPLES)
def test_ks_matches_scipy(a: np.ndarray, b: np.ndarray) -> None:
    expected = ss.ks_2samp(a, b, method="asymp")
    d = stats.ks_exact(np.sort(a), np.sort(b))
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert stats.ks_pvalue(d, len(a), len(b)) == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize(("a", "b"), SAMPLES)
def test_wasserstein_matches_scipy(a: np.ndarray, b: np.ndarray) -> None:
    got = stats.wasserstein_exact(np.sort(a), np.sort(b))
    assert got == pytest.approx(ss.wasserstein_distance(a, b), rel=1e-12)


COUNTS = [
    (np.array([50, 30, 20]), np.array([40, 35, 25])),
    (np.array([5, 0, 9, 12]), np.array([7, 3, 0, 10])),
    (np.array([100, 1]), np.array([90, 11])),
]


@pytest.mark.parametrize(("a", "b"), COUNTS)
def test_chi_square_matches_scipy(a: np.ndarray, b: np.ndarray) -> None:
    expected = ss.chi2_contingency(np.vstack([a, b]), correction=False)
    stat, p, dof = stats.chi2_homogeneity(a, b)
    assert stat == pytest.approx(expected.statistic, rel=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)
    assert dof == expected.dof


@pytest.mark.parametrize(("a", "b"), COUNTS)
def test_jensen_shannon_matches_scipy(a: np.ndarray, b: np.ndarray) -> None:
    assert stats.jensenshannon(a, b) == pytest.approx(jensenshannon(a, b), rel=1e-9)


def test_psi_by_its_formula() -> None:
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    expected = sum((qi - pi) * np.log(qi / pi) for pi, qi in zip(p, q, strict=True))
    assert stats.psi(p, q) == pytest.approx(expected)
    assert stats.psi(p, p) == 0.0
    assert np.isfinite(stats.psi([1, 0], [0, 1]))  # an empty bin does not make it infinite


def test_benjamini_hochberg_matches_scipy() -> None:
    p = rng.uniform(0, 0.2, 25)
    np.testing.assert_allclose(stats.benjamini_hochberg(p), ss.false_discovery_control(p))
