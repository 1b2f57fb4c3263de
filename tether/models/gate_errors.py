"""Errors of evaluation and gates (folded into ``tether.models.errors`` at merge).

Each is a category of ``tether.errors`` that callers catch; each message names what was wrong
(the key, the column, the token) and what to do.
"""

from __future__ import annotations

from tether.errors import InvalidInput, NotFound


class SliceSyntaxError(InvalidInput):
    """A slice predicate that does not parse; the message points at the bad token."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.text = text
        self.position = position
        shown = text if len(text) <= 200 else text[:200] + "..."
        pointer = " " * min(position, 203) + "^"
        super().__init__(f"bad slice: {problem} at position {position}:\n  {shown}\n  {pointer}")


class SliceTooComplex(SliceSyntaxError):
    """A slice past one of the parser's limits (length, nesting, conditions)."""


class SliceColumnError(InvalidInput):
    """A slice names a column the data does not have, or compares it with the wrong type."""


class MissingTarget(InvalidInput):
    """The data has no column named as the target."""


class UnknownMetric(InvalidInput):
    """A metric name that is not known, or not defined for the task."""


class MetricNeedsProbabilities(InvalidInput):
    """A metric of probabilities (ROC AUC, log loss, calibration) for a model without them."""


class InvalidData(InvalidInput):
    """Data that cannot be evaluated: unreadable file, empty, wrong shape of predictions."""


class DataNotFound(NotFound):
    """A data path that does not exist."""


class InvalidPolicy(InvalidInput):
    """A gate policy with an unknown key, unknown metric, malformed slice or wrong type."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"gate policy: {key!s}: {problem}")


class PolicyNotFound(NotFound):
    """A policy file that does not exist."""


class EvaluationMismatch(InvalidInput):
    """Two evaluations a gate compares were not made on the same rows or the same task."""
