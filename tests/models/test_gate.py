from typing import Any

import numpy as np
import pandas as pd
import pytest

from tether.models.bootstrap import paired_bootstrap
from tether.models.errors import EvaluationMismatch
from tether.models.evaluation import Evaluation, evaluate
from tether.models.gating import Decision, compare, gate
from tether.models.metrics import METRICS

from .gatekit import Fixed, FixedProba, predictions_with, table

N = 2000


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, N)
    segment = np.where(np.arange(N) < N // 5, "b", "a")
    return table(y, segment=segment)


@pytest.fixture(scope="module")
def champion_correct() -> np.ndarray:
    return np.random.default_rng(8).random(N) < 0.8


def _flip(correct: np.ndarray, where: np.ndarray, to: bool, count: int) -> np.ndarray:
    out = correct.copy()
    rows = np.flatnonzero(where & (correct != to))[:count]
    out[rows] = to
    return out


def _evals(
    data: pd.DataFrame, chal: Any, champ: Any, slices: list[str] | None = None
) -> tuple[Evaluation, Evaluation]:
    kw: dict[str, Any] = {"target": "y", "slices": slices or ["segment == 'b'"]}
    return evaluate(chal, data, **kw), evaluate(champ, data, **kw)


def _rule(decision: Decision, name: str) -> bool:
    (rule,) = [r for r in decision.rules if r.name == name]
    return rule.passed


@pytest.fixture(scope="module")
def clear_win(data: pd.DataFrame, champion_correct: np.ndarray) -> tuple[Evaluation, Evaluation]:
    """The challenger fixes 100 of the champion's mistakes and breaks nothing (+0.05)."""
    y = data["y"].to_numpy()
    everywhere = np.ones(N, dtype=bool)
    better = _flip(champion_correct, everywhere, True, 100)
    return _evals(
        data,
        FixedProba(predictions_with(y, better)),
        FixedProba(predictions_with(y, champion_correct)),
    )


def test_a_clear_improvement_passes_every_rule(clear_win: tuple[Evaluation, Evaluation]) -> None:
    policy = {
        "primary": "accuracy",
        "min_improvement": 0.01,
        "max_regression": {"log_loss": 0.02},
        "slices": ["segment == 'b'"],
        "max_latency_p99_ms": 1e6,
    }
    decision = gate(*clear_win, policy)
    assert decision.passed, decision.reasons
    assert [r.name for r in decision.rules] == [
        "primary", "significance", "max_regression.log_loss", "slice segment == 'b'", "latency",
    ]  # fmt: skip
    assert decision.reasons[0] == (
        "✓ primary: accuracy improved by +0.0500 (0.8675 vs champion 0.8175); "
        "needs at least +0.0100"
    )
    assert decision.bootstrap.low > 0.04
    assert decision.challenger is clear_win[0] and decision.champion is clear_win[1]


def test_an_improvement_below_the_minimum_fails(clear_win: tuple[Evaluation, Evaluation]) -> None:
    decision = gate(*clear_win, {"primary": "accuracy", "min_improvement": 0.06})
    assert not decision.passed
    assert not _rule(decision, "primary") and _rule(decision, "significance")
    assert "needs at least +0.0600" in decision.reasons[0]


def test_an_improvement_too_small_to_be_significant_fails(
    data: pd.DataFrame, champion_correct: np.ndarray
) -> None:
    """+10 rows net: 160 mistakes fixed, 150 new ones. Better on average, but noise."""
    y = data["y"].to_numpy()
    everywhere = np.ones(N, dtype=bool)
    chal = _flip(champion_correct, everywhere, True, 160)
    broken = np.flatnonzero(champion_correct)[-150:]
    chal[broken] = False
    evals = _evals(
        data, Fixed(predictions_with(y, chal)), Fixed(predictions_with(y, champion_correct))
    )
    decision = gate(*evals, {"primary": "accuracy", "min_improvement": 0.0})
    assert evals[0].metrics["accuracy"] - evals[1].metrics["accuracy"] == pytest.approx(0.005)
    assert _rule(decision, "primary")
    assert not _rule(decision, "significance") and not decision.passed
    assert decision.bootstrap.low < 0 < decision.bootstrap.improvement
    assert "one-sided lower 95% bound" in decision.reasons[1] and "<= 0" in decision.reasons[1]


def test_better_on_average_but_worse_on_a_slice_fails(
    data: pd.DataFrame, champion_correct: np.ndarray
) -> None:
    y = data["y"].to_numpy()
    in_b = (data["segment"] == "b").to_numpy()
    chal = _flip(_flip(champion_correct, ~in_b, True, 200), in_b, False, 30)
    evals = _evals(
        data, Fixed(predictions_with(y, chal)), Fixed(predictions_with(y, champion_correct))
    )
    policy: dict[str, Any] = {
        "primary": "accuracy",
        "min_improvement": 0.01,
        "slices": ["segment=='b'"],
    }
    decision = gate(*evals, policy)
    assert _rule(decision, "primary") and _rule(decision, "significance")
    assert not _rule(decision, "slice segment == 'b'") and not decision.passed
    assert (
        "accuracy is worse by 0.0750" in decision.reasons[-1] and "400 rows" in decision.reasons[-1]
    )
    assert gate(*evals, {**policy, "max_slice_regression": 0.1}).passed


def test_a_regression_of_another_metric_beyond_its_limit_fails(
    data: pd.DataFrame, champion_correct: np.ndarray
) -> None:
    """More accurate, but over-confident: its log loss gets worse."""
    y = data["y"].to_numpy()
    better = _flip(champion_correct, np.ones(N, dtype=bool), True, 100)
    evals = _evals(
        data,
        FixedProba(predictions_with(y, better), confidence=0.999),
        FixedProba(predictions_with(y, champion_correct), confidence=0.8),
    )
    assert evals[0].metrics["log_loss"] > evals[1].metrics["log_loss"] + 0.02
    failing = gate(*evals, {"primary": "accuracy", "max_regression": {"log_loss": 0.02}})
    assert not failing.passed and not _rule(failing, "max_regression.log_loss")
    assert "log_loss is worse by" in failing.reasons[2] and "allowed 0.0200" in failing.reasons[2]
    assert gate(*evals, {"primary": "accuracy", "max_regression": {"log_loss": 10.0}}).passed


def test_a_latency_ceiling(clear_win: tuple[Evaluation, Evaluation]) -> None:
    slow = gate(*clear_win, {"primary": "accuracy", "max_latency_p99_ms": 1e-6})
    assert not slow.passed and not _rule(slow, "latency")
    assert "exceeds the ceiling of 0.000 ms" in slow.reasons[-1]
    assert gate(*clear_win, {"primary": "accuracy", "max_latency_p99_ms": 1e6}).passed


def test_the_bootstrap_is_reproducible_with_a_seed(
    clear_win: tuple[Evaluation, Evaluation],
) -> None:
    policy = {"primary": "log_loss", "resamples": 300, "seed": 11}
    first, again = gate(*clear_win, policy), gate(*clear_win, policy)
    assert first.bootstrap == again.bootstrap and first.reasons == again.reasons
    other = gate(*clear_win, {**policy, "seed": 12})
    assert other.bootstrap.low != first.bootstrap.low


@pytest.mark.parametrize("metric", ["accuracy", "log_loss", "f1", "roc_auc"])
def test_the_bootstrap_matches_resampling_rows_one_by_one(metric: str) -> None:
    """Same distribution as the naive loop: draw row indices, apply them to both models."""
    rng = np.random.default_rng(5)
    n = 400
    y = rng.integers(0, 2, n)
    p_a = np.clip(0.35 * y + 0.65 * rng.random(n), 0.01, 0.99)
    p_b = np.clip(0.3 * y + 0.7 * rng.random(n), 0.01, 0.99)
    from tether.models.metrics import classification

    def preds(p: np.ndarray) -> Any:
        return classification(
            y, (p > 0.5).astype(int), np.column_stack([1 - p, p]), np.array([0, 1])
        )

    a, b = preds(p_a), preds(p_b)
    m = METRICS[metric]
    result = paired_bootstrap(m, a, b, resamples=2000, confidence=0.9, seed=1)
    naive = []
    for _ in range(2000 if m.max_resamples is None else m.max_resamples):
        idx = rng.integers(0, n, n)
        diff = m.compute(a.subset(idx)) - m.compute(b.subset(idx))
        naive.append(diff if m.higher_is_better else -diff)
    low, high = np.quantile(naive, [0.1, 0.9])
    width = high - low
    assert abs(result.low - low) < 0.2 * width and abs(result.high - high) < 0.2 * width


def test_auc_is_bootstrapped_on_at_most_200_resamples(
    clear_win: tuple[Evaluation, Evaluation],
) -> None:
    decision = gate(*clear_win, {"primary": "roc_auc", "resamples": 1000})
    assert decision.bootstrap.resamples == 200
    assert "200 resamples" in decision.reasons[1]


def test_evaluations_of_different_rows_cannot_be_gated(data: pd.DataFrame) -> None:
    y = data["y"].to_numpy()
    whole = evaluate(Fixed(y), data, target="y", latency=False)
    half = evaluate(Fixed(y), data.iloc[: N // 2], target="y", latency=False)
    with pytest.raises(EvaluationMismatch, match="different rows"):
        gate(whole, half, {"primary": "accuracy"})
    with pytest.raises(EvaluationMismatch, match="slice \"segment == 'b'\" is not in"):
        gate(whole, whole, {"primary": "accuracy", "slices": ["segment == 'b'"]})
    with pytest.raises(EvaluationMismatch, match="regression metric"):
        gate(whole, whole, {"primary": "rmse"})


def test_compare_evaluates_both_on_the_same_rows(
    data: pd.DataFrame, clear_win: tuple[Evaluation, Evaluation], champion_correct: np.ndarray
) -> None:
    y = data["y"].to_numpy()
    better = _flip(champion_correct, np.ones(N, dtype=bool), True, 100)
    policy = {"primary": "accuracy", "min_improvement": 0.01, "slices": ["segment == 'b'"]}
    decision = compare(
        FixedProba(predictions_with(y, better)),
        FixedProba(predictions_with(y, champion_correct)),
        data,
        policy,
        target="y",
    )
    assert decision.passed
    assert decision.bootstrap == gate(*clear_win, policy).bootstrap
    assert decision.challenger.latency is None  # no ceiling, no timing
    assert list(decision.challenger.slices) == ["segment == 'b'"]


def test_markdown_summary(clear_win: tuple[Evaluation, Evaluation]) -> None:
    policy = {
        "primary": "accuracy",
        "min_improvement": 0.06,
        "slices": ["segment == 'b'"],
        "max_latency_p99_ms": 1e6,
    }
    text = gate(*clear_win, policy).to_markdown()
    assert text.startswith("## Model gate: failed ❌\n")
    assert "| metric | champion | challenger | delta |" in text
    assert "| **accuracy** ↑ | 0.8175 | 0.8675 | +0.0500 |" in text
    assert "| log_loss ↓ |" in text and "| latency p99, 1 row (ms) ↓ |" in text
    assert "| `segment == 'b'` | 400 |" in text
    assert "- ❌ **primary**: accuracy improved by +0.0500" in text
    assert "- ✅ **significance**:" in text
    assert text.count("\n- ") == 4


def test_a_regression_gate_on_rmse() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=1000)
    data = table(y)
    close = Fixed(y + rng.normal(scale=0.5, size=1000))
    far = Fixed(y + rng.normal(scale=0.8, size=1000))
    policy = {"primary": "rmse", "min_improvement": 0.1, "max_regression": {"r2": 0.0}}
    passed = compare(close, far, data, policy, target="y")
    assert passed.passed, passed.reasons
    assert passed.challenger.task == "regression" and "rmse improved by +0." in passed.reasons[0]
    failed = compare(far, close, data, policy, target="y")
    assert not failed.passed
    assert not _rule(failed, "primary") and not _rule(failed, "significance")
    assert not _rule(failed, "max_regression.r2")


def test_a_slice_without_rows_fails_its_rule(
    clear_win: tuple[Evaluation, Evaluation], data: pd.DataFrame
) -> None:
    y = data["y"].to_numpy()
    kw: dict[str, Any] = {"target": "y", "slices": ["segment == 'z'"], "latency": False}
    evals = evaluate(Fixed(y), data, **kw), evaluate(Fixed(1 - y), data, **kw)
    decision = gate(*evals, {"primary": "accuracy", "slices": ["segment == 'z'"]})
    assert not decision.passed
    assert decision.reasons[-1] == "✗ slice segment == 'z': no rows of the data are in this slice"
    assert "| `segment == 'z'` | 0 | n/a | n/a | n/a |" in decision.to_markdown()


def test_an_undefined_primary_metric_fails_rather_than_passes(data: pd.DataFrame) -> None:
    """ROC AUC of a target with one class is undefined: no rule passes on it."""
    ones = data.assign(y=1)
    model = FixedProba(np.ones(N, dtype=int))
    evals = (
        evaluate(model, ones, target="y", latency=False),
        evaluate(model, ones, target="y", latency=False),
    )
    decision = gate(*evals, {"primary": "roc_auc", "resamples": 50})
    assert not decision.passed
    assert decision.reasons[0] == "✗ primary: roc_auc is undefined (nan vs champion nan)"
    assert "is nan" in decision.reasons[1]


def test_markdown_keeps_table_cells_whole(data: pd.DataFrame) -> None:
    frame = data.assign(**{"a|b": data["segment"]})
    y = data["y"].to_numpy()
    slices = ["`a|b` == 'b' or segment == 'x|y'"]
    kw: dict[str, Any] = {"target": "y", "slices": slices, "latency": False}
    evals = evaluate(Fixed(y), frame, **kw), evaluate(Fixed(y), frame, **kw)
    text = gate(*evals, {"primary": "accuracy", "slices": slices}).to_markdown()
    row = next(line for line in text.splitlines() if "a\\|b" in line and "| 400 |" in line)
    assert row.startswith("| `` `a\\|b` == 'b' or segment == 'x\\|y' `` | 400 |")
