"""A crafted pickle is never unpickled without trust: the code it carries does not run."""

from pathlib import Path

import pytest

from tests.models.flavors.python_code import Boom
from tether.models import UntrustedModel, load_model, save_model


def test_malicious_pickle_is_refused_and_its_code_does_not_run(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    save_model(Boom(str(target)), tmp_path / "m", flavor="pickle")
    assert not target.exists()
    with pytest.raises(UntrustedModel, match="can run any code"):
        load_model(tmp_path / "m")
    assert not target.exists()


def test_a_pickle_renamed_into_another_flavour_is_not_unpickled(tmp_path: Path) -> None:
    """The manifest says sklearn, the file is the malicious pickle: skops refuses it."""
    import json

    from tests.models.flavors.support import rewrite_digests
    from tether.models import CorruptModel

    target = tmp_path / "pwned.txt"
    save_model(Boom(str(target)), tmp_path / "m", flavor="pickle")
    folder = tmp_path / "m"
    (folder / "model.pkl").rename(folder / "model.skops")
    manifest = folder / "tether-model.json"
    data = json.loads(manifest.read_text())
    data["flavor"], data["options"] = "sklearn", {"file": "model.skops"}
    data["files"] = {"model.skops": data["files"].pop("model.pkl")}
    manifest.write_text(json.dumps(data))
    rewrite_digests(folder)
    with pytest.raises(CorruptModel):
        load_model(folder)
    assert not target.exists()
