import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.models.flavors.support import (
    need,
    predict_in_fresh_process,
    rewrite_digests,
    round_trip,
)
from tether.models import (
    CorruptModel,
    UnseenCategoryWarning,
    UntrustedModel,
    load_model,
    save_model,
)

sklearn = need("sklearn")
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.integers(18, 80, 60), "income": rng.normal(50, 10, 60)})
    y = (X["age"] + X["income"] > 95).astype(int).to_numpy()
    return X, y


@pytest.mark.slow
def test_round_trip_in_this_and_a_fresh_process(tmp_path: Path) -> None:
    X, y = _data()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    before = model.predict(X)
    assert np.array_equal(round_trip(model, X, tmp_path / "m", "sklearn"), before)
    assert np.array_equal(predict_in_fresh_process(tmp_path / "m", X, tmp_path), before)


def test_array_sample(tmp_path: Path) -> None:
    X, y = _data()
    array = X.to_numpy()
    model = LogisticRegression().fit(array, y)
    assert np.array_equal(round_trip(model, array, tmp_path / "m", "sklearn"), model.predict(array))


class Custom(LogisticRegression):
    """A type skops does not know: loading it would build code the file names."""


def test_a_skops_file_with_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    X, y = _data()
    model = Custom().fit(X, y)
    save_model(model, tmp_path / "m")
    with pytest.raises(UntrustedModel, match=r"Custom.*trust=True"):
        load_model(tmp_path / "m")
    loaded = load_model(tmp_path / "m", trust=True)
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_a_skops_file_naming_a_dangerous_function_is_refused(tmp_path: Path) -> None:
    """A transformer whose function is os.system: skops would hand it to the pipeline."""
    import os

    from sklearn.preprocessing import FunctionTransformer

    save_model(FunctionTransformer(func=os.system), tmp_path / "m", flavor="sklearn")
    with pytest.raises(UntrustedModel, match=r"system.*trust=True"):
        load_model(tmp_path / "m")


def test_a_damaged_skops_file_whose_digest_matches_is_a_clear_error(tmp_path: Path) -> None:
    """A hand-made folder: the manifest's digest matches a file skops cannot read. A linear
    model predicts with its NumPy predictor, so the estimator is read (and refused) only
    when asked for (a gradient-boosted forest has no such predictor)."""
    X, y = _data()
    models = {"forest": GradientBoostingClassifier(n_estimators=2), "linear": LogisticRegression()}
    for name, model in models.items():
        save_model(model.fit(X, y), tmp_path / name)
        with zipfile.ZipFile(tmp_path / name / "model.skops", "w") as z:
            z.writestr("nothing.txt", "no schema here")
        rewrite_digests(tmp_path / name)
    with pytest.raises(CorruptModel, match="sklearn could not load it"):
        load_model(tmp_path / "forest")
    loaded = load_model(tmp_path / "linear")
    assert loaded.fast
    with pytest.raises(CorruptModel, match="sklearn could not load it"):
        _ = loaded.model


def test_text_labels_and_a_text_column(tmp_path: Path) -> None:
    """The output schema of labels held as Python strings; a pipeline with a text column."""
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X, y = _data()
    X = X.assign(city=np.where(X["age"] > 50, "rome", "oslo").astype(object))
    labels = np.where(y == 1, "rich", "poor").astype(object)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"
        ),
        LogisticRegression(max_iter=500),
    ).fit(X, labels)
    after = round_trip(model, X, tmp_path / "m", "sklearn")
    assert list(after) == list(model.predict(X))
    loaded = load_model(tmp_path / "m")
    assert loaded.signature is not None and loaded.signature.outputs is not None
    assert loaded.signature.outputs.specs[0].categories == ("poor", "rich")
    with pytest.warns(UnseenCategoryWarning, match="'paris'"):
        loaded.predict(X.assign(city="paris"))


FRESH_LOAD = """
import sys
from tether.models import UntrustedModel, load_model
good, bad = sys.argv[1], sys.argv[2]
assert load_model(good).predict([[0.0, 1.0]]).shape == (1,)
# Tether's own allow-list stood in for skops' survey of every scikit-learn module
surveyed = sorted(m for m in ("sklearn.semi_supervised", "sklearn.datasets") if m in sys.modules)
try:
    load_model(bad)
except UntrustedModel as e:
    refused = "math.sqrt" in str(e)
else:
    refused = False
import skops.io as sio  # skops' own defaults, for code other than Tether's, are as skops made them
print(surveyed, refused, sio.get_untrusted_types(file=good + "/model.skops"))
print(type(sio.load(good + "/model.skops")).__name__)
"""


def test_a_fresh_load_skips_the_survey_and_keeps_skops_defaults(tmp_path: Path) -> None:
    """skops lists every scikit-learn estimator when imported (all of scikit-learn imported);
    Tether's loader does without that, yet refuses what it refused, and skops' defaults for
    any other caller in the process stay what skops makes them."""
    import math
    import subprocess
    import sys

    from sklearn.preprocessing import FunctionTransformer

    from tests.models.flavors.support import ROOT

    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    save_model(LogisticRegression().fit(X, [0, 1, 1, 0]), tmp_path / "good")
    save_model(FunctionTransformer(func=math.sqrt).fit(X), tmp_path / "bad")
    done = subprocess.run(
        [sys.executable, "-c", FRESH_LOAD, str(tmp_path / "good"), str(tmp_path / "bad")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[] True []", "LogisticRegression"]


UFUNC_NAMES = """
import numpy as np, scipy.special
from tether.models.flavors.skops_io import skops_io
skops_io()
from skops.io import _trusted_types as tt, _utils as u
assert u.whichmodule.__module__ == "skops.io._utils"  # skops' own again after the import
assert u.get_public_type_names(module=np, oftype=np.ufunc) == tt.NUMPY_UFUNC_TYPE_NAMES
scipy_names = u.get_public_type_names(module=scipy.special, oftype=np.ufunc)
assert scipy_names and set(scipy_names) <= set(tt.SCIPY_UFUNC_TYPE_NAMES)
print(len(tt.NUMPY_UFUNC_TYPE_NAMES) > 50)
"""


def test_the_quick_import_names_ufuncs_as_skops_does() -> None:
    """The ufunc names skops trusts by default, made during Tether's import of skops, are
    those skops' own search gives."""
    import subprocess
    import sys

    from tests.models.flavors.support import ROOT

    done = subprocess.run(
        [sys.executable, "-c", UFUNC_NAMES], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
