from pathlib import Path

import numpy as np
import pandas as pd

from tests.models.flavors.support import need, round_trip
from tether.models import load_model, save_model

lgb = need("lightgbm")


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    return X, np.where(X["a"] > X["b"], "yes", "no")


def test_classifier_keeps_its_labels(tmp_path: Path) -> None:
    X, y = _data()
    model = lgb.LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1).fit(X, y)
    after = round_trip(model, X, tmp_path / "m", "lightgbm")
    assert list(after) == list(model.predict(X))
    assert (tmp_path / "m" / "model.txt").read_text().startswith("tree")


def test_regressor_and_booster(tmp_path: Path) -> None:
    X, _ = _data()
    y = X["a"] * 2 + X["b"]
    model = lgb.LGBMRegressor(n_estimators=5, min_child_samples=5, verbose=-1).fit(X, y)
    assert np.allclose(round_trip(model, X, tmp_path / "r", "lightgbm"), model.predict(X))
    save_model(model.booster_, tmp_path / "b", sample=X)
    assert np.allclose(load_model(tmp_path / "b").predict(X), model.predict(X))
