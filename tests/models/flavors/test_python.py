import json
from pathlib import Path

import numpy as np
import pytest

from tests.models.flavors.python_code import NoState, Threshold
from tests.models.flavors.support import round_trip
from tether.models import UnsupportedModel, load_model, save_model


def test_state_protocol_round_trips_without_pickle(tmp_path: Path) -> None:
    model = Threshold(np.array([1.0, -1.0]), 0.25, ["low", "high"])
    x = np.random.default_rng(4).normal(size=(10, 2))
    after = round_trip(model, x, tmp_path / "m", "python")
    assert list(after) == list(model.predict(x))
    options = json.loads((tmp_path / "m" / "tether-model.json").read_text())["options"]
    assert options["code"] == "tests.models.flavors.python_code:Threshold"
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "input_example.npy",
        "state.json",
        "state.npz",
        "tether-model.json",
    ]


def test_an_object_without_the_protocol_is_refused_with_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModel, match=r"get_state\(\).*flavor='pickle'"):
        save_model(NoState(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_an_object_without_predict_has_no_flavour(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModel, match="no predict"):
        save_model(object(), tmp_path / "m")


def test_an_explicit_pickle_loads_only_with_trust_and_warns(tmp_path: Path) -> None:
    from tether.models import TrustedLoadWarning, UntrustedModel

    save_model(NoState(), tmp_path / "m", flavor="pickle")
    with pytest.raises(UntrustedModel, match="trust=True"):
        load_model(tmp_path / "m")
    with pytest.warns(TrustedLoadWarning, match="unpickling"):
        loaded = load_model(tmp_path / "m", trust=True)
    assert loaded.predict(3) == 3
