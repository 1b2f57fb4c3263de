"""Models with predictions chosen row by row, for evaluation and gate tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


class Fixed:
    """Predicts, for each row, the label chosen for its ``row`` column; no probabilities."""

    def __init__(self, pred: np.ndarray, classes: tuple[object, ...] = (0, 1)) -> None:
        self.pred = np.asarray(pred)
        self.classes_ = np.asarray(classes)
        self.calls = 0

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        return self.pred[x["row"].to_numpy()]


class FixedProba(Fixed):
    """As ``Fixed``, with probabilities: ``confidence`` on the predicted class."""

    def __init__(self, pred: np.ndarray, confidence: np.ndarray | float = 0.8) -> None:
        super().__init__(pred)
        conf = np.broadcast_to(np.asarray(confidence, dtype=float), self.pred.shape)
        p1 = np.where(self.pred == 1, conf, 1 - conf)
        self.proba = np.column_stack([1 - p1, p1])

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        return self.proba[x["row"].to_numpy()]


def table(y: np.ndarray, **columns: object) -> pd.DataFrame:
    return pd.DataFrame({"row": np.arange(len(y)), **columns, "y": y})


def predictions_with(y: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Binary predictions right exactly where ``correct`` is true."""
    return np.where(correct, y, 1 - y)
