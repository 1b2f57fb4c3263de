"""Models: evaluation of a model on a table and gates between a challenger and a champion.

Names are imported on first use, so ``import tether.models`` loads no NumPy or pandas.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.models.bootstrap import BootstrapResult, paired_bootstrap
    from tether.models.evaluation import Evaluation, SliceEvaluation, evaluate
    from tether.models.gate_errors import (
        DataNotFound,
        EvaluationMismatch,
        InvalidData,
        InvalidPolicy,
        MetricNeedsProbabilities,
        MissingTarget,
        PolicyNotFound,
        SliceColumnError,
        SliceSyntaxError,
        SliceTooComplex,
        UnknownMetric,
    )
    from tether.models.gating import Decision, Rule, compare, gate
    from tether.models.latency import Latency
    from tether.models.policy import Policy, load_policy
    from tether.models.slices import Slice, parse_slice

# public name -> module that defines it
_LAZY = {
    "evaluate": "tether.models.evaluation",
    "Evaluation": "tether.models.evaluation",
    "SliceEvaluation": "tether.models.evaluation",
    "Latency": "tether.models.latency",
    "gate": "tether.models.gating",
    "compare": "tether.models.gating",
    "Decision": "tether.models.gating",
    "Rule": "tether.models.gating",
    "Policy": "tether.models.policy",
    "load_policy": "tether.models.policy",
    "Slice": "tether.models.slices",
    "parse_slice": "tether.models.slices",
    "BootstrapResult": "tether.models.bootstrap",
    "paired_bootstrap": "tether.models.bootstrap",
    "DataNotFound": "tether.models.gate_errors",
    "EvaluationMismatch": "tether.models.gate_errors",
    "InvalidData": "tether.models.gate_errors",
    "InvalidPolicy": "tether.models.gate_errors",
    "MetricNeedsProbabilities": "tether.models.gate_errors",
    "MissingTarget": "tether.models.gate_errors",
    "PolicyNotFound": "tether.models.gate_errors",
    "SliceColumnError": "tether.models.gate_errors",
    "SliceSyntaxError": "tether.models.gate_errors",
    "SliceTooComplex": "tether.models.gate_errors",
    "UnknownMetric": "tether.models.gate_errors",
}

__all__ = [
    "BootstrapResult",
    "DataNotFound",
    "Decision",
    "Evaluation",
    "EvaluationMismatch",
    "InvalidData",
    "InvalidPolicy",
    "Latency",
    "MetricNeedsProbabilities",
    "MissingTarget",
    "Policy",
    "PolicyNotFound",
    "Rule",
    "Slice",
    "SliceColumnError",
    "SliceEvaluation",
    "SliceSyntaxError",
    "SliceTooComplex",
    "UnknownMetric",
    "compare",
    "evaluate",
    "gate",
    "load_policy",
    "paired_bootstrap",
    "parse_slice",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
