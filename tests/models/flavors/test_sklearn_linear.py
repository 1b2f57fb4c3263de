"""Linear scikit-learn models saved with a NumPy-only predictor: a fresh process that loads
one and predicts answers exactly as scikit-learn does without importing scikit-learn, and
a predictor that would answer otherwise is never stored."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.models.flavors.support import ROOT, need, predict_fresh, rewrite_digests
from tether.models import CorruptModel, UntrustedModel, WrongShape, load_model, save_model
from tether.models.flavors import linear

need("sklearn")
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import (  # noqa: E402
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

HEAVY = ("sklearn", "scipy", "pandas", "skops", "pyarrow")


def _x(rows: int = 300, features: int = 6) -> np.ndarray:
    return np.random.default_rng(0).normal(2.0, 3.0, size=(rows, features))


def _labels(x: np.ndarray, classes: list[Any]) -> np.ndarray:
    score = x[:, 0] + 0.5 * x[:, 1] - x[:, 2]
    bins = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    return np.asarray(classes, dtype=object)[np.digitize(score, bins)]


def _cases() -> dict[str, tuple[Any, np.ndarray]]:
    x = _x()
    two, three = _labels(x, [0, 1]).astype(np.int64), _labels(x, [3, 5, 9]).astype(np.int64)
    words = _labels(x, ["cat", "dog", "owl"])  # object dtype, Python str
    target = x @ np.arange(1, 7) + 0.3
    return {
        "logistic-binary": (LogisticRegression(max_iter=500).fit(x, two), x),
        "logistic-multiclass": (LogisticRegression(max_iter=500).fit(x, three), x),
        "logistic-strings": (LogisticRegression(max_iter=500).fit(x, words), x),
        "logistic-unicode": (LogisticRegression(max_iter=500).fit(x, words.astype(str)), x),
        "logistic-binary-strings": (LogisticRegression().fit(x, np.where(two, "y", "n")), x),
        "linear-svc": (LinearSVC().fit(x, three), x),
        "sgd-log-loss": (SGDClassifier(loss="log_loss", random_state=0).fit(x, three), x),
        "linear-regression": (LinearRegression().fit(x, target), x),
        "linear-regression-2d": (
            LinearRegression().fit(x, np.c_[target, -target]),
            x,
        ),
        "ridge": (Ridge(alpha=0.5).fit(x, target), x),
        "lasso": (Lasso(alpha=0.01).fit(x, target), x),
        "elastic-net": (ElasticNet(alpha=0.01).fit(x, target), x),
        "scaled-logistic": (
            make_pipeline(StandardScaler(), LogisticRegression()).fit(x, three),
            x,
        ),
        "no-intercept": (LogisticRegression(fit_intercept=False).fit(x, two), x),
        "ridge-no-intercept": (Ridge(fit_intercept=False).fit(x, target), x),
        "float32": (LogisticRegression().fit(x.astype(np.float32), three), x.astype(np.float32)),
    }


CASES = _cases()


def test_each_supported_model_predicts_exactly_in_a_fresh_process_without_sklearn(
    tmp_path: Path,
) -> None:
    folders = {}
    for name, (model, x) in CASES.items():
        folder = tmp_path / name
        meta = save_model(model, folder, sample=x[:5])
        assert meta.options.get("linear", {}).get("file") == "linear.npz", name
        assert "linear.npz" in meta.files  # listed with its digest, like the skops file
        np.save(folder / "x.npy", x, allow_pickle=False)  # outside the manifest: not checked
        folders[name] = folder
    out = tmp_path / "out"
    out.mkdir()
    report = predict_fresh(folders, out, HEAVY)
    assert report["heavy"] == [], "loading and predicting imported " + ", ".join(report["heavy"])
    assert all(report["fast"].values())
    for name, (model, x) in CASES.items():
        want = model.predict(x)
        got = np.load(out / f"{name}.npy", allow_pickle=False)
        if want.dtype == object:
            assert got.dtype.kind == "U"  # saved as text by the fresh process
            want = want.astype(str)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
        if hasattr(model, "predict_proba"):
            proba = np.load(out / f"{name}-proba.npy", allow_pickle=False)
            np.testing.assert_allclose(proba, model.predict_proba(x), rtol=1e-12, atol=0)
        else:
            assert not (out / f"{name}-proba.npy").exists()


def test_object_string_labels_come_back_as_python_strings(tmp_path: Path) -> None:
    model, x = CASES["logistic-strings"]
    save_model(model, tmp_path / "m", sample=x[:5])
    loaded = load_model(tmp_path / "m")
    got = loaded.predict(x)
    assert loaded.fast and got.dtype == object and isinstance(got[0], str)
    assert list(got) == list(model.predict(x))
    assert list(loaded.classes_) == ["cat", "dog", "owl"]


def test_a_dataframe_sample_and_the_signature_checks_stay(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 80), "income": rng.normal(50, 10, 80)})
    y = (frame["age"] + frame["income"] > 95).astype(int).to_numpy()
    model = LogisticRegression().fit(frame, y)
    save_model(model, tmp_path / "m", sample=frame[:5])
    loaded = load_model(tmp_path / "m")
    assert loaded.fast
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(Exception, match="income"):
        loaded.predict(frame[["age"]])
    arr_model, x = CASES["logistic-binary"]
    save_model(arr_model, tmp_path / "a", sample=x[:5])
    with pytest.raises(WrongShape):
        load_model(tmp_path / "a").predict(x[:, :3])


def test_the_estimator_is_loaded_when_asked_for(tmp_path: Path) -> None:
    model, x = CASES["scaled-logistic"]
    save_model(model, tmp_path / "m", sample=x[:5])
    loaded = load_model(tmp_path / "m")
    estimator = loaded.model  # read from the skops file, with the usual checks
    assert type(estimator).__name__ == "Pipeline"
    assert np.array_equal(estimator.predict(x), model.predict(x))


def test_a_tampered_predictor_file_is_refused(tmp_path: Path) -> None:
    model, x = CASES["logistic-binary"]
    save_model(model, tmp_path / "m", sample=x[:5])
    path = tmp_path / "m" / "linear.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["intercept"] = arrays["intercept"] + 100.0  # every row flips to one class
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(CorruptModel, match=r"linear\.npz.*digest"):
        load_model(tmp_path / "m")


def test_a_predictor_file_that_is_not_one_is_corrupt_even_with_matching_digests(
    tmp_path: Path,
) -> None:
    model, x = CASES["logistic-binary"]
    save_model(model, tmp_path / "m", sample=x[:5])
    (tmp_path / "m" / "linear.npz").write_bytes(b"not an npz")
    rewrite_digests(tmp_path / "m")
    with pytest.raises(CorruptModel, match="fast predictor"):
        load_model(tmp_path / "m")


def test_unsupported_models_load_through_skops(tmp_path: Path) -> None:
    x = _x()
    y = _labels(x, [0, 1]).astype(int)
    forest = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(x, y)
    meta = save_model(forest, tmp_path / "f", sample=x[:5])
    assert "linear" not in meta.options and "linear.npz" not in meta.files
    assert "trees" not in meta.options and "trees.npz" not in meta.files
    loaded = load_model(tmp_path / "f")
    assert not loaded.fast and np.array_equal(loaded.predict(x), forest.predict(x))


class Custom(LogisticRegression):
    """A subclass may change predict: it gets no NumPy predictor and skops still refuses it."""


def test_a_subclass_of_a_supported_model_keeps_the_trust_check(tmp_path: Path) -> None:
    x = _x()
    model = Custom().fit(x, _labels(x, [0, 1]).astype(int))
    meta = save_model(model, tmp_path / "m", sample=x[:5])
    assert "linear" not in meta.options
    with pytest.raises(UntrustedModel):
        load_model(tmp_path / "m")


def test_a_rule_that_would_answer_otherwise_is_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, x = CASES["logistic-multiclass"]
    # multiclass logistic regression is a softmax; one-vs-rest gives other probabilities
    monkeypatch.setattr(linear, "_proba_rules", lambda est, n: ("ovr",))
    meta = save_model(model, tmp_path / "proba", sample=x[:5])
    assert "linear" not in meta.options and "linear.npz" not in meta.files
    assert not load_model(tmp_path / "proba").fast

    def wrong_predict(self: Any, inputs: Any) -> Any:
        return self.classes.take(np.zeros(len(inputs), dtype=np.intp))

    monkeypatch.undo()
    monkeypatch.setattr(linear.LinearPredictor, "predict", wrong_predict)
    meta = save_model(model, tmp_path / "predict", sample=x[:5])
    assert "linear" not in meta.options


def test_probabilities_off_by_more_than_the_tolerance_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, x = CASES["logistic-binary"]
    predictor = linear.verified_predictor(model, x[:5])
    right = type(predictor)._predict_proba

    def off(self: Any, inputs: Any) -> Any:
        return right(self, inputs) * (1 + 1e-10)

    monkeypatch.setattr(linear.LinearPredictor, "_predict_proba", off)
    with pytest.raises(linear.NotDescribable, match="predict_proba differs"):
        linear.verified_predictor(model, x[:5])


def test_load_by_alias_in_a_fresh_process_imports_no_scientific_stack(ws: Path) -> None:
    import tether
    import tether.models as tm

    model, x = CASES["logistic-multiclass"]
    mv = tm.log(model, "m", sample=x[:5])
    tether.flush()
    tm.set_alias("m", "a", mv.version)
    np.save(ws / "x.npy", x, allow_pickle=False)
    code = (
        "import json, sys, numpy as np\n"
        "import tether.models as tm\n"
        "m = tm.load('m@a')\n"
        "x = np.load('x.npy', allow_pickle=False)\n"
        "p = m.predict(x).tolist()\n"
        f"heavy = [h for h in {HEAVY!r} if h in sys.modules]\n"
        "print(json.dumps({'fast': m.fast, 'heavy': heavy, 'p': p}))\n"
    )
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ws,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["fast"] and report["heavy"] == []
    assert report["p"] == model.predict(x).tolist()
