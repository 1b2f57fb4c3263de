"""The flavour is chosen from the model's type, without importing any model library."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.models.flavors.support import need
from tether.models import UnknownFlavor, get_flavor, save_model
from tether.models.registry import choose_flavor


def test_import_tether_models_loads_no_model_library() -> None:
    code = (
        "import sys, tether, tether.models\n"
        "from tether.models import save_model, load_model, Signature, SignatureError\n"
        "heavy = {'numpy', 'pandas', 'pyarrow', 'sklearn', 'skops', 'torch', 'xgboost',\n"
        "         'lightgbm', 'onnx', 'onnxruntime', 'safetensors', 'blake3'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_choice_by_the_most_derived_class() -> None:
    xgb = need("xgboost")  # its estimators are scikit-learn estimators too
    from sklearn.linear_model import LogisticRegression

    assert choose_flavor(LogisticRegression()).name == "sklearn"
    assert choose_flavor(xgb.XGBRegressor()).name == "xgboost"


def test_unknown_flavour_names_the_known_ones() -> None:
    with pytest.raises(UnknownFlavor, match="known flavours: lightgbm, onnx, pickle, python"):
        get_flavor("h5")


def test_a_missing_library_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from tether.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if not installed
    with pytest.raises(MissingDependency, match=r"pip install 'tether\[lightgbm\]'"):
        save_model(np.zeros(1), tmp_path / "m", flavor="lightgbm")
    assert list(tmp_path.iterdir()) == []
