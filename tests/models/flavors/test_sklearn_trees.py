"""Trees and random forests saved with a NumPy-only predictor: a fresh process that loads one and
predicts answers as scikit-learn does (missing values included) without importing
scikit-learn, and a predictor that would answer otherwise is never stored or read."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.models.flavors.support import need, predict_fresh, rewrite_digests
from tether.models import CorruptModel, UntrustedModel, load_model, save_model
from tether.models.flavors import trees

need("sklearn")
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

HEAVY = ("sklearn", "scipy", "pandas", "skops", "pyarrow")


def _x(rows: int = 400, features: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 2.0, size=(rows, features))


def _cases() -> dict[str, tuple[Any, np.ndarray]]:
    x = _x()
    score = x[:, 0] - x[:, 1] + 0.3 * x[:, 2] ** 2
    three = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    words = np.asarray(["cat", "dog", "owl"], dtype=object)[three]
    holed = x.copy()
    holed[::7, 1] = np.nan  # trained with missing values
    return {
        "tree-classifier": (DecisionTreeClassifier(max_depth=6, random_state=0).fit(x, three), x),
        "tree-regressor": (DecisionTreeRegressor(random_state=0).fit(x, score), x),
        "forest-strings": (RandomForestClassifier(30, random_state=0).fit(x, words), x),
        "forest-binary": (RandomForestClassifier(20, random_state=0).fit(x, three > 0), x),
        "forest-regressor": (RandomForestRegressor(20, random_state=0).fit(x, score), x),
        "extra-classifier": (ExtraTreesClassifier(20, random_state=0).fit(x, three), x),
        "extra-regressor": (ExtraTreesRegressor(20, random_state=0).fit(x, score), x),
        "forest-missing": (RandomForestClassifier(20, random_state=0).fit(holed, three), holed),
        "float32": (
            RandomForestClassifier(10, random_state=0).fit(x.astype(np.float32), three),
            x.astype(np.float32),
        ),
    }


CASES = _cases()


def _new_rows(x: np.ndarray) -> np.ndarray:
    """Rows the models never saw."""
    return _x(200, x.shape[1], seed=5).astype(x.dtype)


def test_each_tree_model_predicts_as_sklearn_in_a_fresh_process_without_it(
    tmp_path: Path,
) -> None:
    folders = {}
    for name, (model, x) in CASES.items():
        folder = tmp_path / name
        meta = save_model(model, folder, sample=x[:20])
        assert meta.options.get("trees", {}).get("file") == "trees.npz", name
        assert "trees.npz" in meta.files  # listed with its digest, like the skops file
        rows = _new_rows(x)
        if np.isnan(x[:20]).any():  # the signature takes missing values: the sample had some
            assert meta.options["trees"]["allow_nan"]
            rows[::5, 1] = np.nan
        np.save(folder / "x.npy", rows, allow_pickle=False)  # outside the manifest
        folders[name] = folder
    out = tmp_path / "out"
    out.mkdir()
    report = predict_fresh(folders, out, HEAVY)
    assert report["heavy"] == [], "loading and predicting imported " + ", ".join(report["heavy"])
    assert all(report["fast"].values())
    for name, (model, _) in CASES.items():
        rows = np.load(folders[name] / "x.npy", allow_pickle=False)
        want = model.predict(rows)
        got = np.load(out / f"{name}.npy", allow_pickle=False)
        if want.dtype == object:
            assert got.dtype.kind == "U"  # saved as text by the fresh process
            want = want.astype(str)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
        if hasattr(model, "predict_proba"):
            proba = np.load(out / f"{name}-proba.npy", allow_pickle=False)
            np.testing.assert_allclose(proba, model.predict_proba(rows), rtol=1e-12, atol=0)


def test_missing_values_are_refused_where_scikit_learn_refuses_them(tmp_path: Path) -> None:
    model, x = CASES["forest-regressor"]
    save_model(model, tmp_path / "m", sample=x[:20])
    loaded = load_model(tmp_path / "m")
    rows = _new_rows(x)
    rows[0, 0] = np.inf  # no tree takes infinity, as scikit-learn's float32 check says
    with pytest.raises(Exception, match=r"(?i)infinity|nan"):
        model.predict(rows)
    with pytest.raises(Exception, match=r"(?i)infinity|nan"):
        loaded.predict(rows)


def test_unsupported_tree_models_load_through_skops(tmp_path: Path) -> None:
    x = _x()
    two_outputs = RandomForestRegressor(5, random_state=0).fit(x, np.c_[x[:, 0], x[:, 1]])
    meta = save_model(two_outputs, tmp_path / "multi", sample=x[:5])
    assert "trees" not in meta.options and "trees.npz" not in meta.files
    loaded = load_model(tmp_path / "multi")
    assert not loaded.fast and np.array_equal(loaded.predict(x), two_outputs.predict(x))


class Custom(RandomForestClassifier):
    """A subclass may change predict: it gets no NumPy predictor and skops still refuses it."""


def test_a_subclass_of_a_forest_keeps_the_trust_check(tmp_path: Path) -> None:
    x = _x()
    model = Custom(n_estimators=3, random_state=0).fit(x, x[:, 0] > 0)
    meta = save_model(model, tmp_path / "m", sample=x[:5])
    assert "trees" not in meta.options
    with pytest.raises(UntrustedModel):
        load_model(tmp_path / "m")


def test_a_tampered_predictor_file_is_refused(tmp_path: Path) -> None:
    model, x = CASES["forest-binary"]
    save_model(model, tmp_path / "m", sample=x[:5])
    path = tmp_path / "m" / "trees.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["threshold"] = arrays["threshold"] + 1.0  # every split moves
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(CorruptModel, match=r"trees\.npz.*digest"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(left=a["left"] + 10_000), "outside the nodes"),
        (lambda a: a.update(roots=np.array([-1])), "outside the nodes"),
        (lambda a: a.update(feature=a["feature"] + 99), "outside the 5 features"),
        (lambda a: a.update(value=a["value"][:-1]), "one entry per node"),
        (lambda a: a.update(extra=np.zeros(1)), "unexpected arrays"),
    ],
)
def test_hostile_predictor_arrays_are_corrupt_even_with_matching_digests(
    tmp_path: Path, change: Any, message: str
) -> None:
    model, x = CASES["tree-classifier"]
    save_model(model, tmp_path / "m", sample=x[:5])
    path = tmp_path / "m" / "trees.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    rewrite_digests(tmp_path / "m")
    with pytest.raises(CorruptModel, match="fast predictor") as e:
        load_model(tmp_path / "m")
    assert message in str(e.value)


def test_a_predictor_that_answers_otherwise_is_never_stored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The save-time check compares with the estimator: a predictor that walks a tree wrongly
    (here, a split sending values equal to the threshold right) is dropped."""
    model, x = CASES["tree-classifier"]
    walk = trees.TreePredictor.leaves

    def wrong(self: trees.TreePredictor, inputs: Any) -> Any:
        self.threshold = np.nextafter(self.threshold, -np.inf)
        return walk(self, inputs)

    monkeypatch.setattr(trees.TreePredictor, "leaves", wrong)
    sample = np.vstack([x[:20], x[:20]])
    sample[:, :] = np.asarray(model.tree_.threshold)[0]  # every value on the root's threshold
    meta = save_model(model, tmp_path / "m", sample=sample)
    assert "trees" not in meta.options and not (tmp_path / "m" / "trees.npz").exists()


def test_the_estimator_is_loaded_when_asked_for(tmp_path: Path) -> None:
    model, x = CASES["forest-strings"]
    save_model(model, tmp_path / "m", sample=x[:5])
    loaded = load_model(tmp_path / "m")
    assert loaded.fast and list(loaded.classes_) == ["cat", "dog", "owl"]
    estimator = loaded.model  # read from the skops file, with the usual checks
    assert type(estimator).__name__ == "RandomForestClassifier"
    assert np.array_equal(estimator.predict(x), model.predict(x))
