import json
from pathlib import Path

import numpy as np
import pytest

from tests.models.flavors.support import need, predict_in_fresh_process, round_trip
from tether.models import CodeNotFound, CorruptModel, UnsupportedModel, load_model, save_model

torch = need("torch")
need("safetensors")
from tests.models.flavors.torch_net import TinyNet  # noqa: E402


def _net() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet(width=3, hidden=5).eval()


def test_weights_in_safetensors_and_the_class_by_import_path(tmp_path: Path) -> None:
    net, x = _net(), np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    with torch.no_grad():
        before = net(torch.from_numpy(x)).numpy()
    after = round_trip(net, x, tmp_path / "m", "torch")
    assert np.array_equal(after, before)
    options = json.loads((tmp_path / "m" / "tether-model.json").read_text())["options"]
    assert options["code"] == "tests.models.flavors.torch_net:TinyNet"
    assert options["init_kwargs"] == {"width": 3, "hidden": 5}
    assert (tmp_path / "m" / "weights.safetensors").is_file()
    assert not list((tmp_path / "m").glob("*.p*t"))  # no torch.save pickle


@pytest.mark.slow
def test_a_fresh_process_imports_the_class_and_loads_the_weights(tmp_path: Path) -> None:
    net, x = _net(), np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    with torch.no_grad():
        before = net(torch.from_numpy(x)).numpy()
    save_model(net, tmp_path / "m", sample=x)
    assert np.array_equal(predict_in_fresh_process(tmp_path / "m", x, tmp_path), before)


def test_truncated_weights_are_a_clear_error(tmp_path: Path) -> None:
    save_model(_net(), tmp_path / "m")
    weights = tmp_path / "m" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(CorruptModel, match=r"weights.safetensors.*digest"):
        load_model(tmp_path / "m")


def test_a_class_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    save_model(_net(), tmp_path / "m")
    manifest = tmp_path / "m" / "tether-model.json"
    data = json.loads(manifest.read_text())
    data["options"]["code"] = "tests.models.flavors.gone:TinyNet"
    manifest.write_text(json.dumps(data))
    with pytest.raises(CodeNotFound, match="gone:TinyNet"):
        load_model(tmp_path / "m")


def test_a_standard_library_module_is_never_imported(tmp_path: Path) -> None:
    """Importing some modules acts (antigravity opens a browser): a manifest cannot ask it."""
    import sys

    save_model(_net(), tmp_path / "m")
    manifest = tmp_path / "m" / "tether-model.json"
    data = json.loads(manifest.read_text())
    data["options"]["code"] = "antigravity:Anything"
    manifest.write_text(json.dumps(data))
    with pytest.raises(CodeNotFound, match="standard-library"):
        load_model(tmp_path / "m")
    assert "antigravity" not in sys.modules


def test_a_module_defined_in_a_function_is_refused_at_save(tmp_path: Path) -> None:
    class Local(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    with pytest.raises(UnsupportedModel, match="top level of an importable module"):
        save_model(Local(), tmp_path / "m")
    assert not (tmp_path / "m").exists()
    assert list(tmp_path.iterdir()) == []
