"""Project code for the generic Python flavour tests."""

from __future__ import annotations

from typing import Any

import numpy as np


class Threshold:
    """A model with the state protocol: JSON values and NumPy arrays."""

    def __init__(self, weights: np.ndarray, cut: float, labels: list[str]) -> None:
        self.weights, self.cut, self.labels = weights, cut, labels

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.where(x @ self.weights > self.cut, self.labels[1], self.labels[0])

    def get_state(self) -> dict[str, Any]:
        return {"weights": self.weights, "cut": self.cut, "labels": self.labels}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Threshold:
        return cls(state["weights"], state["cut"], state["labels"])


class NoState:
    def predict(self, x: Any) -> Any:
        return x


class Boom:
    """Unpickling this writes a file: what a malicious pickle would do."""

    def __init__(self, target: str) -> None:
        self.target = target

    def predict(self, x: Any) -> Any:
        return x

    def __reduce__(self) -> tuple[Any, ...]:
        code = f"open({self.target!r}, 'w').write('pwned')"
        return (exec, (code,))
