from pathlib import Path

import numpy as np
import pytest

from tests.models.flavors.support import need, round_trip
from tether.models import CorruptModel, load_model, save_model

need("onnx")
need("onnxruntime")
skl2onnx = need("skl2onnx")
from sklearn.linear_model import LinearRegression  # noqa: E402


def _model() -> tuple[object, np.ndarray, np.ndarray]:
    x = np.random.default_rng(3).normal(size=(20, 3)).astype("float32")
    fitted = LinearRegression().fit(x, x @ np.array([1.0, -2.0, 0.5]))
    proto = skl2onnx.to_onnx(fitted, x[:1])
    return proto, x, fitted.predict(x)


def test_round_trip_runs_on_onnxruntime(tmp_path: Path) -> None:
    proto, x, expected = _model()
    after = round_trip(proto, x, tmp_path / "m", "onnx")
    assert np.allclose(after.ravel(), expected, atol=1e-5)
    assert (tmp_path / "m" / "model.onnx").is_file()


def test_wrong_dtype_is_refused_before_onnxruntime_sees_it(tmp_path: Path) -> None:
    from tether.models import WrongDtype

    proto, x, _ = _model()
    save_model(proto, tmp_path / "m", sample=x)
    with pytest.raises(WrongDtype, match="float64; expected float32"):
        load_model(tmp_path / "m").predict(x.astype("float64"))


def test_garbage_onnx_file_is_a_clear_error(tmp_path: Path) -> None:
    proto, _x, _ = _model()
    save_model(proto, tmp_path / "m")
    (tmp_path / "m" / "model.onnx").write_bytes(b"not a model")
    from tests.models.flavors.support import rewrite_digests

    rewrite_digests(tmp_path / "m")
    with pytest.raises(CorruptModel, match="onnx could not load it"):
        load_model(tmp_path / "m")
