from pathlib import Path
from typing import Any

import pytest

from tether.errors import InvalidInput, NotFound
from tether.models.errors import InvalidPolicy, PolicyNotFound
from tether.models.policy import Policy, load_policy

EXAMPLE = """
primary = "accuracy"              # the metric that must improve
min_improvement = 0.01            # absolute, on the primary metric
max_regression = { log_loss = 0.02 }
slices = ["segment == 'b'"]       # each must not regress beyond max_slice_regression
max_slice_regression = 0.0
max_latency_p99_ms = 5.0
confidence = 0.95                 # paired bootstrap of the improvement
resamples = 1000
seed = 0
"""


def test_the_documented_policy_loads_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(EXAMPLE)
    policy = load_policy(path)
    assert policy.primary == "accuracy"
    assert policy.min_improvement == 0.01
    assert policy.max_regression == {"log_loss": 0.02}
    assert [s.name for s in policy.slices] == ["segment == 'b'"]
    assert policy.max_latency_p99_ms == 5.0
    assert (policy.confidence, policy.resamples, policy.seed) == (0.95, 1000, 0)
    assert load_policy(str(path)) == policy
    assert load_policy(policy.to_dict()) == policy


def test_only_the_primary_metric_is_required() -> None:
    policy = load_policy({"primary": "rmse"})
    assert policy == Policy(primary="rmse")
    assert policy.max_latency_p99_ms is None and policy.slices == ()


@pytest.mark.parametrize(
    ("raw", "key", "problem"),
    [
        ({"primary": "accuracy", "min_improvment": 0.1}, "min_improvment", "unknown key"),
        ({"min_improvement": 0.1}, "primary", "missing"),
        ({"primary": "acc"}, "primary", "unknown metric 'acc'"),
        ({"primary": 3}, "primary", "expected a metric name"),
        ({"primary": "accuracy", "max_regression": {"logloss": 0.1}}, "max_regression.logloss",
         "unknown metric"),
        ({"primary": "accuracy", "max_regression": {"rmse": 0.1}}, "max_regression.rmse",
         "regression metric"),
        ({"primary": "accuracy", "max_regression": 0.1}, "max_regression", "expected a table"),
        ({"primary": "accuracy", "max_regression": {"log_loss": "x"}}, "max_regression.log_loss",
         "expected a number"),
        ({"primary": "accuracy", "min_improvement": "1"}, "min_improvement", "expected a number"),
        ({"primary": "accuracy", "min_improvement": True}, "min_improvement", "expected a number"),
        ({"primary": "accuracy", "min_improvement": -0.1}, "min_improvement", ">= 0"),
        ({"primary": "accuracy", "slices": "segment == 'b'"}, "slices", "expected a list"),
        ({"primary": "accuracy", "slices": ["segment == 'b'", "segment = = 'b'"]}, "slices[1]",
         "found '='"),
        ({"primary": "accuracy", "slices": [3]}, "slices[0]", "expected a slice string"),
        ({"primary": "accuracy", "max_latency_p99_ms": 0}, "max_latency_p99_ms", "> 0"),
        ({"primary": "accuracy", "confidence": 95}, "confidence", "between 0 and 1"),
        ({"primary": "accuracy", "resamples": 1.5}, "resamples", "whole number"),
        ({"primary": "accuracy", "resamples": 0}, "resamples", "whole number"),
        ({"primary": "accuracy", "seed": "zero"}, "seed", "whole number"),
    ],
)  # fmt: skip
def test_bad_policies_name_the_key(raw: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(InvalidPolicy) as info:
        load_policy(raw)
    assert info.value.key == key
    assert f"gate policy: {key}:" in str(info.value) and problem in str(info.value)
    assert isinstance(info.value, InvalidInput)


def test_policy_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(PolicyNotFound, match="does not exist") as info:
        load_policy(tmp_path / "none.toml")
    assert isinstance(info.value, NotFound)
    bad = tmp_path / "bad.toml"
    bad.write_text('primary = "accuracy"\nmin_improvement = \n')
    with pytest.raises(InvalidPolicy, match=r"not valid TOML.*line 2"):
        load_policy(bad)
    with pytest.raises(InvalidPolicy, match="expected a dict or the path"):
        load_policy(42)  # type: ignore[arg-type]
