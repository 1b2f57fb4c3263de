"""What every flavour must do, run against each of them (like fsspec's abstract tests)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.models.flavors.support import need, rewrite_digests
from tether.errors import TetherError
from tether.models import (
    CorruptModel,
    TrustedLoadWarning,
    get_flavor,
    load_model,
    save_model,
)

X = np.random.default_rng(7).normal(size=(40, 3)).astype("float32")
Y = (X[:, 0] > X[:, 1]).astype(int)


def _sklearn() -> Any:
    """A model without a NumPy predictor (flavors/linear.py, trees.py): loading reads the
    skops file itself."""
    need("sklearn")
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, Y)


def _xgboost() -> Any:
    return need("xgboost").XGBClassifier(n_estimators=3, max_depth=2).fit(X, Y)


def _lightgbm() -> Any:
    lgb = need("lightgbm")
    return lgb.LGBMClassifier(n_estimators=3, min_child_samples=3, verbose=-1).fit(X, Y)


def _torch() -> Any:
    torch = need("torch")
    need("safetensors")
    from tests.models.flavors.torch_net import TinyNet

    torch.manual_seed(0)
    return TinyNet(width=3).eval()


def _onnx() -> Any:
    need("onnxruntime")
    skl2onnx = need("skl2onnx")
    from sklearn.linear_model import LinearRegression

    return skl2onnx.to_onnx(LinearRegression().fit(X, Y.astype("float32")), X[:1])


def _python() -> Any:
    from tests.models.flavors.python_code import Threshold

    return Threshold(np.array([1.0, -1.0, 0.0]), 0.0, ["n", "y"])


CASES: dict[str, Callable[[], Any]] = {
    "sklearn": _sklearn,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "torch": _torch,
    "onnx": _onnx,
    "python": _python,
    "pickle": _python,
}


def _save(name: str, folder: Path) -> Any:
    model = CASES[name]()
    save_model(model, folder, sample=X, flavor="pickle" if name == "pickle" else None)
    return model


def _load(name: str, folder: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustedLoadWarning)
        return load_model(folder, trust=name == "pickle")


def _primary(folder: Path) -> Path:
    files = json.loads((folder / "tether-model.json").read_text())["files"]
    return folder / next(f for f in sorted(files) if not f.startswith("input_example"))


@pytest.fixture(params=sorted(CASES))
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_round_trip(flavor: str, tmp_path: Path) -> None:
    model = _save(flavor, tmp_path / "m")
    loaded = _load(flavor, tmp_path / "m")
    assert loaded.flavor == flavor
    before = get_flavor(flavor).predict(model, X)
    assert np.array_equal(np.asarray(loaded.predict(X)), np.asarray(before))


def test_the_manifest_lists_every_file_and_the_libraries(flavor: str, tmp_path: Path) -> None:
    _save(flavor, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "tether-model.json").read_text())
    on_disk = {p.relative_to(tmp_path / "m").as_posix() for p in (tmp_path / "m").rglob("*")}
    assert on_disk == {*manifest["files"], "tether-model.json"}
    assert set(get_flavor(flavor).libraries) <= set(manifest["libraries"])


def test_a_changed_file_is_found_before_the_library_reads_it(flavor: str, tmp_path: Path) -> None:
    _save(flavor, tmp_path / "m")
    path = _primary(tmp_path / "m")
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(CorruptModel, match="digest"):
        _load(flavor, tmp_path / "m")


def test_garbage_with_a_matching_digest_is_a_tether_error(flavor: str, tmp_path: Path) -> None:
    """The library's own exception never leaks: a file it cannot read is a CorruptModel."""
    _save(flavor, tmp_path / "m")
    _primary(tmp_path / "m").write_bytes(b"\x00garbage" * 8)
    rewrite_digests(tmp_path / "m")
    with pytest.raises(TetherError) as e:
        _load(flavor, tmp_path / "m")
    assert isinstance(e.value, CorruptModel), repr(e.value)
