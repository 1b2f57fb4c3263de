from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.models.flavors.support import need, predict_in_fresh_process, round_trip
from tether.models import load_model, save_model

xgb = need("xgboost")


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    return X, (X["a"] > X["b"]).astype(int).to_numpy()


@pytest.mark.slow
def test_classifier_round_trips_in_a_fresh_process(tmp_path: Path) -> None:
    X, y = _data()
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y)
    before = model.predict(X)
    assert np.array_equal(round_trip(model, X, tmp_path / "m", "xgboost"), before)
    assert np.array_equal(predict_in_fresh_process(tmp_path / "m", X, tmp_path), before)
    assert (tmp_path / "m" / "model.json").is_file()


def test_booster_in_ubjson(tmp_path: Path) -> None:
    X, y = _data()
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=3)
    before = booster.predict(xgb.DMatrix(X))
    save_model(booster, tmp_path / "m", sample=X, options={"format": "ubj"})
    assert (tmp_path / "m" / "model.ubj").is_file()
    assert np.allclose(load_model(tmp_path / "m").predict(X), before)
