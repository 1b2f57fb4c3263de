"""A project with a continuous-training loop: a generated dataset, a pipeline that trains a
tiny scikit-learn model on it and logs it from a step, and a `[loop.churn]` table."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

PIPELINE = """
import os
import time
from pathlib import Path

import tether
from tether import DatasetRef
from tether.pipelines import pipeline, step

HERE = Path(__file__).parent


@step
def fit(data: DatasetRef) -> int:
    mode = (HERE / "mode.txt").read_text().strip() if (HERE / "mode.txt").exists() else "strong"
    if mode == "fail":
        raise RuntimeError("training broke")
    if mode == "slow":  # two controllers overlap
        time.sleep(1.0)
    if mode == "hang":  # the test kills the controller while this step runs
        (HERE / "training.started").write_text(str(os.getpid()))
        time.sleep(60)
    from sklearn.linear_model import LogisticRegression

    frame = tether.dataset(data).to_pandas()
    x = frame[["signal", "noise"]].copy()
    if mode != "strong":
        x["signal"] = 0.0
    model = LogisticRegression().fit(x, frame["y"])
    return tether.models.log(model, "churn", sample=x.head(5)).version


@pipeline
def training(data: DatasetRef):
    return fit(data)
"""

CONFIG = """
[loop.churn]
model = "churn"
alias = "champion"
pipeline = "loopproj.train:training"
executor = "inline"
dataset = "churn"
target = "y"
gate = { primary = "accuracy", resamples = 200 }

[loop.churn.triggers]
new_data = true

[loop.churn.retry]
backoff_s = {backoff}
max_attempts = 3
"""


def churn(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    noise = rng.normal(size=rows)
    y = (signal + 0.3 * rng.normal(size=rows) > 0).astype(int)
    return pd.DataFrame({"signal": signal, "noise": noise, "y": y})


def make_project(root: Path, *, backoff: float = 0.05) -> None:
    """The pipeline package, the loop table; no dataset yet (see ``add_version``)."""
    pkg = root / "loopproj"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text(textwrap.dedent(PIPELINE))
    config = root / ".tether" / "config.toml"
    config.write_text(config.read_text() + CONFIG.replace("{backoff}", str(backoff)))


def set_mode(root: Path, mode: str) -> None:
    (root / "loopproj" / "mode.txt").write_text(mode)


def add_version(root: Path, seed: int) -> None:
    """A new version of dataset ``churn`` (one Parquet file)."""
    from tether.tracking.datasets import add

    folder = root / "data" / "churn"
    folder.mkdir(parents=True, exist_ok=True)
    churn(seed=seed).to_parquet(folder / "table.parquet")
    add(folder, "churn")
