"""E2 gate: champion vs challenger on 100,000 labelled rows, 1,000 paired bootstrap resamples of
the primary metric, 3 slices: the time from two fitted models and a table to a decision.

No library offers a paired promotion gate to compare with, so the anchor is what a user writes
with scikit-learn: predict with both models, then 1,000 times ``sklearn.utils.resample`` of the
row indices and ``accuracy_score`` of each model on the drawn rows, the lower percentile bound
of the difference, and the accuracy of each model on each slice (pandas boolean masks).

Both sides run in this process on the same data and models (scikit-learn LogisticRegression on
20 and on 5 of 20 features, fitted untimed on separate rows), round-robin. Tether:
``tether.models.compare`` (evaluates both models: predictions, accuracy, ROC AUC, log loss, F1,
calibration error, overall and per slice; the paired bootstrap; every rule) and, as a second
row, ``gate`` alone on evaluations made beforehand. With accuracy as the primary metric, each
row is one of a few (right, wrong) cases for the two models, so Tether draws a resample's counts
of those cases from a multinomial (exactly the distribution of drawing rows); a third row gates
on log loss, a continuous per-row value, where resamples are drawn row by row (``np.take`` over
chunks of index arrays).
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import harness
from benchmarks.common import Options, versions

WORKLOAD = "e2"
SEED = 0
TARGET_S = 2.0  # Tether: a decision in under 2 s
SLICES = ["segment == 'b'", "age >= 60", "segment in ['a', 'c'] and age < 30"]
RESAMPLES = 1000


def make_data(rows: int) -> tuple[Any, Any, Any]:
    """The evaluation table and two fitted models (untimed)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(SEED)
    total = rows + 20_000
    x = rng.normal(size=(total, 20))
    score = x[:, :8] @ np.linspace(1.0, 0.2, 8) + rng.normal(scale=1.5, size=total)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    frame["segment"] = rng.choice(["a", "b", "c"], total)
    frame["age"] = rng.integers(18, 90, total)
    frame["y"] = (score > 0).astype(np.int64)
    train, test = frame.iloc[:20_000], frame.iloc[20_000:].reset_index(drop=True)
    all_features = [f"f{i}" for i in range(20)]
    challenger = OnColumns(LogisticRegression(max_iter=300), all_features).fit(train)
    champion = OnColumns(LogisticRegression(max_iter=300), all_features[:5]).fit(train)
    return test, challenger, champion


class OnColumns:
    """A scikit-learn model that reads its own feature columns from the table."""

    def __init__(self, model: Any, columns: list[str]) -> None:
        self.model = model
        self.columns = columns

    def fit(self, frame: Any) -> OnColumns:
        self.model.fit(frame[self.columns].to_numpy(), frame["y"].to_numpy())
        self.classes_ = self.model.classes_
        return self

    def predict(self, x: Any) -> Any:
        return self.model.predict(x[self.columns].to_numpy())

    def predict_proba(self, x: Any) -> Any:
        return self.model.predict_proba(x[self.columns].to_numpy())


POLICY = {
    "primary": "accuracy",
    "min_improvement": 0.005,
    "max_regression": {"log_loss": 0.02},
    "slices": SLICES,
    "max_slice_regression": 0.0,
    "confidence": 0.95,
    "resamples": RESAMPLES,
    "seed": SEED,
}


def tether_compare(ctx: tuple[Any, Any, Any]) -> dict[str, Any]:
    from tether.models import compare

    frame, challenger, champion = ctx
    decision = compare(challenger, champion, frame, POLICY, target="y")
    return {"passed": decision.passed, "low": decision.bootstrap.low}


def sklearn_loop(ctx: tuple[Any, Any, Any]) -> dict[str, Any]:
    """The loop a user writes: resample rows, score both models, take the percentile."""
    import numpy as np
    from sklearn.metrics import accuracy_score
    from sklearn.utils import resample

    frame, challenger, champion = ctx
    y = frame["y"].to_numpy()
    a, b = challenger.predict(frame), champion.predict(frame)
    rows = np.arange(len(y))
    diffs = []
    for i in range(RESAMPLES):
        idx = resample(rows, replace=True, random_state=SEED + i)
        diffs.append(accuracy_score(y[idx], a[idx]) - accuracy_score(y[idx], b[idx]))
    low = float(np.quantile(diffs, 1 - 0.95))
    masks = [
        frame["segment"] == "b",
        frame["age"] >= 60,
        frame["segment"].isin(["a", "c"]) & (frame["age"] < 30),
    ]
    slices_ok = all(accuracy_score(y[m], a[m]) >= accuracy_score(y[m], b[m]) for m in masks)
    gain = accuracy_score(y, a) - accuracy_score(y, b)
    return {"passed": bool(gain >= 0.005 and low > 0 and slices_ok), "low": low}


def run(opts: Options) -> list[harness.Result]:
    from tether.models import evaluate, gate

    rows = 10_000 if opts.quick else 100_000
    harness.log(f"E2: {rows:,} rows, {RESAMPLES} resamples, {len(SLICES)} slices; fitting models")
    ctx = make_data(rows)
    frame, challenger, champion = ctx
    outcome: dict[str, dict[str, Any]] = {}

    def timed(name: str, fn: Any) -> Any:
        def call(_: Any) -> None:
            outcome[name] = fn(ctx)

        return call

    def gate_only(_: Any) -> None:
        outcome["gate"] = {"passed": gate(*evals, POLICY).passed, "low": None}

    def gate_log_loss(_: Any) -> None:
        decision = gate(*evals, {**POLICY, "primary": "log_loss", "max_regression": {}})
        outcome["gate, log_loss"] = {"passed": decision.passed, "low": decision.bootstrap.low}

    kw: dict[str, Any] = {"target": "y", "slices": SLICES, "latency": False}
    evals = (evaluate(challenger, frame, **kw), evaluate(champion, frame, **kw))

    tether = harness.Result(WORKLOAD, "decision", "tether", note="compare(): evaluate both + gate")
    only = harness.Result(
        WORKLOAD, "decision", "tether gate", note="gate() on two evaluations", baseline=None
    )
    continuous = harness.Result(
        WORKLOAD,
        "decision",
        "tether gate log_loss",
        note="gate() with log_loss primary: resampled row draws",
    )
    anchor = harness.Result(
        WORKLOAD,
        "decision",
        "sklearn loop",
        note="resample + accuracy_score x 1,000",
        baseline=tether.label,
    )
    cases = [
        harness.Case(tether, timed("tether", tether_compare)),
        harness.Case(only, gate_only),
        harness.Case(continuous, gate_log_loss),
        harness.Case(anchor, timed("sklearn", sklearn_loop)),
    ]
    cases = [c for c in cases if opts.only is None or c.result.tool.split()[0] in opts.only]
    harness.run_cases(cases, n=opts.repeat, warmup=0)
    results = [c.result for c in cases]

    notes = [f"{rows:,} rows, {RESAMPLES} paired resamples, slices: {'; '.join(SLICES)}"]
    if tether.median is not None:
        verdict = "met" if tether.median < TARGET_S else "NOT met"
        notes.append(
            f"target: Tether decision < {TARGET_S:.0f} s: {tether.median:.3f} s ({verdict})"
        )
    if tether.median and anchor.median:
        notes.append(f"sklearn loop / Tether: {anchor.median / tether.median:.1f}x")
    for name, got in outcome.items():
        low = "" if got["low"] is None else f", lower bound {got['low']:+.4f}"
        notes.append(f"{name}: passed={got['passed']}{low}")
    notes.append(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    harness.print_table("E2 model gate: time to a decision", results, notes)
    import sklearn

    found = {**versions(), "scikit-learn": sklearn.__version__}
    harness.save_results(WORKLOAD, results, {"versions": found, "rows": rows, "notes": notes})
    return results
