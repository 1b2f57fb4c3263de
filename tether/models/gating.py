"""``gate``: does a challenger beat the champion under a policy? ``compare`` evaluates both.

Rules, one line each in ``Decision.reasons``:

- ``primary``: the primary metric improves by at least ``min_improvement`` (absolute, in the
  metric's better direction) on all rows;
- ``significance``: the lower bound of the paired bootstrap confidence interval of that
  improvement is above 0, so the improvement is not noise. The bound is held against 0, not
  against ``min_improvement``: ``min_improvement`` asks for a large enough gain, the bootstrap
  asks that the gain is real; asking that the *bound* clears ``min_improvement`` would reject
  most real gains of exactly the size asked for;
- ``max_regression.<metric>``: each listed metric gets worse by at most its limit;
- ``slice:<slice>``: on each policy slice, the primary metric gets worse by at most
  ``max_slice_regression`` (point estimates; a slice without rows fails, it cannot be checked);
- ``latency``: the challenger's p99 latency of one-row ``predict`` calls is at most
  ``max_latency_p99_ms``.

A metric that is undefined on the data (NaN, e.g. ROC AUC of a slice with one class) fails its
rule. The gate passes when every rule passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.models.bootstrap import BootstrapResult, paired_bootstrap
from tether.models.datasource import Data, DataResolver, load_table
from tether.models.errors import EvaluationMismatch
from tether.models.evaluation import Evaluation, evaluate_frame
from tether.models.metrics import Task, get_metric
from tether.models.policy import Policy, load_policy
from tether.models.slices import Slice, parse_slice

if TYPE_CHECKING:
    import os


@dataclass(frozen=True)
class Rule:
    name: str
    passed: bool
    message: str

    @property
    def line(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.message}"


@dataclass(frozen=True)
class Decision:
    passed: bool
    rules: tuple[Rule, ...]
    challenger: Evaluation
    champion: Evaluation
    policy: Policy
    bootstrap: BootstrapResult

    @property
    def reasons(self) -> list[str]:
        return [r.line for r in self.rules]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "rules": [
                {"name": r.name, "passed": r.passed, "message": r.message} for r in self.rules
            ],
            "policy": self.policy.to_dict(),
            "bootstrap": self.bootstrap.to_dict(),
            "challenger": self.challenger.to_dict(),
            "champion": self.champion.to_dict(),
        }

    def to_markdown(self) -> str:
        from tether.models.summary import decision_markdown

        return decision_markdown(self)


def gate(
    challenger: Evaluation,
    champion: Evaluation,
    policy: Policy | Mapping[str, Any] | str | os.PathLike[str],
) -> Decision:
    """Apply ``policy`` to two evaluations made on the same rows."""
    policy = load_policy(policy)
    _check_same_rows(challenger, champion, policy)
    primary = get_metric(policy.primary)
    rules: list[Rule] = []

    chal, champ = challenger.metric(primary.name), champion.metric(primary.name)
    gain = _better(primary.higher_is_better, chal, champ)
    versus = f"{_f(chal)} vs champion {_f(champ)}"
    if math.isnan(gain):
        rules.append(Rule("primary", False, f"{primary.name} is undefined ({versus})"))
    else:
        verdict = "improved" if gain > 0 else "did not improve"
        rules.append(
            Rule(
                "primary",
                gain >= policy.min_improvement,
                f"{primary.name} {verdict} by {_signed(gain)} ({versus}); "
                f"needs at least {_signed(policy.min_improvement)}",
            )
        )

    boot = paired_bootstrap(
        primary,
        challenger.predictions,
        champion.predictions,
        resamples=policy.resamples,
        confidence=policy.confidence,
        seed=policy.seed,
    )
    level = f"{policy.confidence:.0%}"
    how = f"paired bootstrap, {boot.resamples} resamples, seed {boot.seed}"
    significant = boot.low > 0
    rules.append(
        Rule(
            "significance",
            significant,
            f"one-sided lower {level} bound of the {primary.name} improvement is "
            f"{_signed(boot.low)} ({'>' if significant else '<='} 0; upper bound "
            f"{_signed(boot.high)}; {how})",
        )
    )

    for name, limit in policy.max_regression.items():
        metric = get_metric(name)
        a, b = challenger.metric(name), champion.metric(name)
        worse = -_better(metric.higher_is_better, a, b)
        rules.append(_regression_rule(f"max_regression.{name}", name, worse, a, b, limit))

    for s in policy.slices:
        found = challenger.slices[s.name]
        if found.rows == 0:
            rules.append(Rule(f"slice {s.name}", False, "no rows of the data are in this slice"))
            continue
        a = challenger.slice_metric(s.name, primary.name)
        b = champion.slice_metric(s.name, primary.name)
        worse = -_better(primary.higher_is_better, a, b)
        rule = _regression_rule(
            f"slice {s.name}", primary.name, worse, a, b, policy.max_slice_regression
        )
        rules.append(Rule(rule.name, rule.passed, f"{rule.message}; {found.rows} rows"))

    if policy.max_latency_p99_ms is not None:
        rules.append(_latency_rule(challenger, policy.max_latency_p99_ms))

    passed = all(r.passed for r in rules)
    return Decision(passed, tuple(rules), challenger, champion, policy, boot)


def compare(
    challenger: Any,
    champion: Any,
    data: Data,
    policy: Policy | Mapping[str, Any] | str | os.PathLike[str],
    *,
    target: str,
    metrics: Sequence[str] | None = None,
    slices: Sequence[str | Slice] | None = None,
    task: Task | None = None,
    features: Sequence[str] | None = None,
    latency: bool | None = None,
    resolver: DataResolver | None = None,
) -> Decision:
    """Evaluate both models on the same rows of ``data``, then ``gate`` them.

    The evaluations cover ``metrics`` (default: the task's defaults) plus the metrics the policy
    names, on ``slices`` plus the policy's slices; the task is the primary metric's. Latency is
    measured when the policy has a ceiling, unless ``latency`` says otherwise.
    """
    policy = load_policy(policy)
    table = load_table(data, resolver=resolver)
    wanted = [
        *(s if isinstance(s, Slice) else parse_slice(s) for s in (slices or ())),
        *policy.slices,
    ]
    needed = [policy.primary, *policy.max_regression]
    timing = policy.max_latency_p99_ms is not None if latency is None else latency

    def run(model: Any, task: Task | None, names: Sequence[str] | None) -> Evaluation:
        return evaluate_frame(
            model, table.frame, target=target, metrics=names, slices=wanted, task=task,
            features=features, latency=timing, source=table.source,
        )  # fmt: skip

    task = task or get_metric(policy.primary).task
    first = run(challenger, task, None if metrics is None else [*metrics, *needed])
    second = run(champion, task, list(first.metrics))
    return gate(first, second, policy)


def _better(higher_is_better: bool, challenger: float, champion: float) -> float:
    return challenger - champion if higher_is_better else champion - challenger


def _regression_rule(
    name: str, metric: str, worse: float, a: float, b: float, limit: float
) -> Rule:
    versus = f"{_f(a)} vs champion {_f(b)}"
    if math.isnan(worse):
        return Rule(name, False, f"{metric} is undefined ({versus})")
    if worse > 0:
        text = f"{metric} is worse by {_f(worse)} ({versus}); allowed {_f(limit)}"
    else:
        text = f"{metric} did not get worse ({versus}, {_signed(a - b)}); allowed {_f(limit)}"
    return Rule(name, worse <= limit, text)


def _latency_rule(challenger: Evaluation, limit: float) -> Rule:
    if challenger.latency is None:
        return Rule(
            "latency", False, "the challenger's evaluation has no latency (made with latency=False)"
        )
    p99 = challenger.latency.row_p99_ms
    verb = "is within" if p99 <= limit else "exceeds"
    return Rule(
        "latency",
        p99 <= limit,
        f"p99 of one-row predict {_f(p99, 3)} ms {verb} the ceiling of {_f(limit, 3)} ms "
        f"({challenger.latency.row_calls} calls)",
    )


def _check_same_rows(challenger: Evaluation, champion: Evaluation, policy: Policy) -> None:
    import numpy as np

    if challenger.task != champion.task:
        raise EvaluationMismatch(
            f"the challenger was evaluated as {challenger.task}, the champion as "
            f"{champion.task}; evaluate both with the same task="
        )
    if challenger.rows != champion.rows or not np.array_equal(
        challenger.predictions.y_true, champion.predictions.y_true
    ):
        raise EvaluationMismatch(
            f"the evaluations were made on different rows ({challenger.rows} and "
            f"{champion.rows}, or different targets); evaluate both on the same data"
        )
    for s in policy.slices:
        for who, ev in (("challenger", challenger), ("champion", champion)):
            if s.name not in ev.slices:
                raise EvaluationMismatch(
                    f"the policy's slice {s.name!r} is not in the {who}'s evaluation; evaluate "
                    "with slices= including it (compare() does)"
                )
    if get_metric(policy.primary).task != challenger.task:
        raise EvaluationMismatch(
            f"the policy's primary metric {policy.primary!r} is a "
            f"{get_metric(policy.primary).task} metric; these evaluations are {challenger.task}"
        )


def _f(value: float, digits: int = 4) -> str:
    return "nan" if math.isnan(value) else f"{value:.{digits}f}"


def _signed(value: float, digits: int = 4) -> str:
    return "nan" if math.isnan(value) else f"{value:+.{digits}f}"
