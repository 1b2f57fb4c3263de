"""Registered model versions for tests: a scikit-learn estimator saved with ``save_model``, its
folder stored with ``put_tree``, recorded with ``create_model_version``; and a table to gate on."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tether.models import save_model
from tether.store import ModelVersion, ObjectRecord
from tether.workspace import open_workspace


def register(name: str, model: Any, sample: pd.DataFrame, root: Path | None = None) -> ModelVersion:
    """The next version of model ``name`` in the workspace at ``root`` (default: found)."""
    ws = open_workspace(root)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        meta = save_model(model, folder, sample=sample)
        tree = ws.objects.put_tree(folder)
    ws.store.get_or_create_project(ws.project)
    ws.store.record_objects([ObjectRecord(tree.digest, tree.size, "tree")])
    return ws.store.create_model_version(
        ws.project, name, artifact_digest=tree.digest, flavor=meta.flavor
    )


def churn(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """``signal`` predicts ``y`` well, ``noise`` does not; ``segment`` is 'a' or 'b'."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    noise = rng.normal(size=rows)
    y = (signal + 0.3 * rng.normal(size=rows) > 0).astype(int)
    segment = np.where(rng.random(rows) < 0.5, "a", "b")
    return pd.DataFrame({"signal": signal, "noise": noise, "segment": segment, "y": y})


def fitted(frame: pd.DataFrame, columns: list[str]) -> Any:
    """A logistic regression on ``columns`` (the others are dropped inside the pipeline)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    model = Pipeline(
        [
            ("pick", ColumnTransformer([("keep", "passthrough", columns)])),
            ("fit", LogisticRegression()),
        ]
    )
    return model.fit(frame.drop(columns=["y"]), frame["y"])


def strong_and_weak(frame: pd.DataFrame) -> tuple[Any, Any]:
    return fitted(frame, ["signal", "noise"]), fitted(frame, ["noise"])
