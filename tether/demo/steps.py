"""The demo's pipeline: validate -> features -> train -> evaluate, in plain Python.

Pure Python on purpose: the demo runs right after ``pip install tether``, with no NumPy or
scikit-learn. Steps live at module level so the process executor can import them.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

from tether.pipelines import pipeline, step

Rows = list[list[float]]


@step
def validate(points: Path) -> Rows:
    """Parse the CSV and refuse anything malformed: wrong columns, non-numbers, odd labels."""
    with open(points, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != ["x", "y", "label"]:
            raise ValueError(f"expected columns x,y,label, found {','.join(header)}")
        rows = []
        for line, (x, y, label) in enumerate(reader, start=2):
            values = [float(x), float(y), float(label)]
            if not all(math.isfinite(v) for v in values) or values[2] not in (0.0, 1.0):
                raise ValueError(f"line {line}: bad values {x},{y},{label}")
            rows.append(values)
    print(f"validated {len(rows)} rows")
    return rows


@step(outputs=("train", "test"))
def features(rows: Rows, test_fraction: float = 0.25, seed: int = 0) -> tuple[Rows, Rows]:
    """Standardise x and y, shuffle with a fixed seed, split into train and test."""
    n = len(rows)
    stats = []
    for col in (0, 1):
        mean = sum(r[col] for r in rows) / n
        std = math.sqrt(sum((r[col] - mean) ** 2 for r in rows) / n) or 1.0
        stats.append((mean, std))
    scaled = [
        [(r[0] - stats[0][0]) / stats[0][1], (r[1] - stats[1][0]) / stats[1][1], r[2]] for r in rows
    ]
    random.Random(seed).shuffle(scaled)
    cut = int(n * (1 - test_fraction))
    return scaled[:cut], scaled[cut:]


@step
def train(rows: Rows, epochs: int = 20, step_size: float = 0.3) -> dict[str, list[float]]:
    """A nearest-centroid classifier, fitted iteratively so that it has a loss curve."""
    centroids = {0: [0.0, 0.0], 1: [0.0, 0.0]}
    for epoch in range(epochs):
        for label, c in centroids.items():
            members = [r for r in rows if r[2] == label]
            mx = sum(r[0] for r in members) / len(members)
            my = sum(r[1] for r in members) / len(members)
            c[0] += step_size * (mx - c[0])
            c[1] += step_size * (my - c[1])
        loss = sum(math.dist(centroids[int(r[2])], r[:2]) ** 2 for r in rows) / len(rows)
        print(f"epoch {epoch} loss {loss:.4f}")
    return {str(k): v for k, v in centroids.items()}


@step
def evaluate(model: dict[str, list[float]], rows: Rows) -> dict[str, float]:
    """Accuracy of the model on the held-out rows."""

    def predict(x: float, y: float) -> int:
        return min((math.dist(c, (x, y)), int(label)) for label, c in model.items())[1]

    correct = sum(predict(r[0], r[1]) == int(r[2]) for r in rows)
    return {"acc": correct / len(rows), "n": float(len(rows))}


@pipeline(name="demo")
def demo_pipeline(points: Path, epochs: int = 20) -> object:
    rows = validate(points)
    train_rows, test_rows = features(rows)
    model = train(train_rows, epochs=epochs)
    return evaluate(model, test_rows), model
