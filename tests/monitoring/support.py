"""Helpers of the monitoring tests: an isolated workspace, and one with a trained, aliased model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tether
from tests.support import isolate_from_machine
from tether.config import init_workspace
from tether.models import log as log_model
from tether.tracking.datasets import add
from tether.workspace import Workspace


def frame(seed: int, n: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1, n),
            "b": rng.normal(0, 1, n),
            "c": rng.choice(["x", "y"], n),
        }
    )


def isolated_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new workspace of project ``mon``, the current folder, with no user settings, no
    ``TETHER_*`` variables and no git repository above it."""
    root = tmp_path / "ws"
    init_workspace(root, project="mon")
    monkeypatch.chdir(root)
    isolate_from_machine(monkeypatch, tmp_path)
    return root


def churn_workspace(root: Path, target: Callable[[pd.DataFrame], Any]) -> Workspace:
    """``root`` with dataset train@1 (2,000 rows of ``frame``, ``y`` from ``target``) and model
    churn@1 trained on it in a tracked run (alias champion)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    data = frame(0, 2_000)
    data["y"] = target(data)
    (root / "train").mkdir()
    data.to_parquet(root / "train" / "data.parquet", index=False)
    v = add(root / "train", "train")
    with tether.run(name="train", capture=False):
        df = tether.dataset(f"{v.dataset}@{v.version}").to_pandas()
        model = make_pipeline(
            ColumnTransformer(
                [("oh", OneHotEncoder(handle_unknown="ignore"), ["c"])], remainder="passthrough"
            ),
            LogisticRegression(),
        ).fit(df[["a", "b", "c"]], df["y"])
        log_model(model, "churn", sample=df[["a", "b", "c"]].head())
    workspace = Workspace(root)
    workspace.store.set_alias("mon", "churn", "champion", 1, actor="test")
    return workspace
