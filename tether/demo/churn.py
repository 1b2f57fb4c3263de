"""The demo's churn model: a generated table, and the pipeline the loop retrains.

Steps live at module level so that the loop can import the pipeline by name
(``tether.demo.churn:train``).
"""

from __future__ import annotations

from typing import Any

from tether.data.dataset_ref import DatasetRef
from tether.pipelines import pipeline, step

NAME = "churn"
TARGET = "churned"
FEATURES = ("tenure", "monthly_charges", "support_calls", "age")


def churn_table(seed: int, n: int = 1500, shifted: bool = False) -> Any:
    """A churn-like table. ``shifted``: newer customers pay more, call support more, and churn
    for a different reason (support calls weigh more than tenure)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, n) * (0.5 if shifted else 1.0)
    charges = rng.normal(85.0 if shifted else 60.0, 15.0, n)
    calls = rng.poisson(4.0 if shifted else 1.5, n).astype("float64")
    age = rng.normal(45.0, 12.0, n)
    if shifted:
        logit = 1.6 * (calls - 4.0) - 0.01 * (tenure - 12.0) + 0.01 * (charges - 85.0)
    else:
        logit = -0.08 * (tenure - 24.0) + 0.04 * (charges - 60.0) + 0.3 * (calls - 1.5)
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    return pd.DataFrame(
        {"tenure": tenure, "monthly_charges": charges, "support_calls": calls, "age": age,
         TARGET: churned}
    )  # fmt: skip


@step
def fit(data: DatasetRef) -> str:
    """Fit a LogisticRegression on the dataset version and register it (the version is
    created when the step ends); the artifact's digest."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import tether
    import tether.models

    frame = tether.dataset(data).to_pandas()
    x, y = frame[list(FEATURES)], frame[TARGET]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    return tether.models.log(model, NAME, sample=x.head(5)).artifact_digest


@pipeline(name="churn-train")
def train(data: DatasetRef) -> Any:
    return fit(data)
