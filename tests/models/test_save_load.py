"""The model folder: written whole, read back only as its manifest lists it."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.models.flavors.python_code import Threshold
from tether.models import (
    BadManifest,
    CorruptModel,
    LibraryVersionWarning,
    ModelExists,
    ModelNotFound,
    UnknownFlavor,
    load_model,
    save_model,
)

X = np.array([[1.0, 2.0], [3.0, 0.0], [0.0, 0.0]])


def _save(folder: Path) -> Path:
    save_model(Threshold(np.array([1.0, -1.0]), 0.0, ["n", "y"]), folder, sample=X)
    return folder


def _edit(folder: Path, change: dict[str, object]) -> None:
    manifest = folder / "tether-model.json"
    data = json.loads(manifest.read_text())
    data.update(change)
    manifest.write_text(json.dumps(data))


def _manifest(folder: Path) -> dict[str, object]:
    return json.loads((folder / "tether-model.json").read_text())


def test_saved_folder_holds_only_its_files_and_the_example(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == [folder], "no temporary folder is left beside it"
    model = load_model(folder)
    assert np.array_equal(model.input_example(), X)
    assert model.signature is not None
    assert model.signature.outputs is not None
    assert model.signature.outputs.specs[0].dtype == "string"


def test_save_refuses_an_existing_folder_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    with pytest.raises(ModelExists, match="already exists"):
        _save(tmp_path / "m")
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_the_example_is_at_most_five_rows(tmp_path: Path) -> None:
    model = Threshold(np.array([1.0, -1.0]), 0.0, ["n", "y"])
    save_model(model, tmp_path / "m", sample=np.zeros((50, 2)))
    assert load_model(tmp_path / "m").input_example().shape == (5, 2)


def test_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"no tether-model\.json"):
        load_model(tmp_path)


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    (folder / "tether-model.json").write_text("{nope")
    with pytest.raises(BadManifest, match="not JSON"):
        load_model(folder)


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../x", ""])
def test_manifest_naming_a_file_outside_the_folder(tmp_path: Path, name: str) -> None:
    folder = _save(tmp_path / "m")
    (tmp_path / "x").write_text("outside")
    _edit(folder, {"files": {name: {"size": 7, "blake3": "0" * 64}}})
    with pytest.raises(BadManifest, match="relative path inside the model folder"):
        load_model(folder)


def test_example_outside_the_folder(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    _edit(folder, {"example": "../../etc/passwd"})
    with pytest.raises(BadManifest, match="relative path inside the model folder"):
        load_model(folder)


def test_option_naming_a_file_the_manifest_does_not_list(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    data = _manifest(folder)
    _edit(folder, {"options": {**data["options"], "values": "../state.json"}})  # type: ignore[dict-item]
    with pytest.raises(BadManifest, match="does not list"):
        load_model(folder)


def test_symlink_leading_outside_the_folder(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    outside = tmp_path / "secret.json"
    outside.write_bytes((folder / "state.json").read_bytes())
    (folder / "state.json").unlink()
    os.symlink(outside, folder / "state.json")
    with pytest.raises(BadManifest, match="leads outside the model folder"):
        load_model(folder)


def test_changed_and_missing_files(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    state = folder / "state.npz"
    data = state.read_bytes()
    state.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(CorruptModel, match=r"state.npz is damaged.*digest"):
        load_model(folder)
    state.unlink()
    with pytest.raises(CorruptModel, match="missing"):
        load_model(folder)


def test_unknown_flavour(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    _edit(folder, {"flavor": "cobol"})
    with pytest.raises(UnknownFlavor, match=r"'cobol'; known flavours: .*sklearn"):
        load_model(folder)


def test_version_mismatch_warns(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    _edit(folder, {"libraries": {"numpy": "0.0.1"}})
    with pytest.warns(LibraryVersionWarning, match="numpy 0.0.1 and is loaded with"):
        load_model(folder)


def test_a_registry_can_store_the_folder_as_a_tree(tmp_path: Path) -> None:
    """What a registry will do: put_tree the folder, get_tree it elsewhere, load it."""
    from tether.objects import ObjectStore

    folder = _save(tmp_path / "m")
    store = ObjectStore(str(tmp_path / "objects"))
    tree = store.put_tree(folder)
    store.get_tree(tree.digest, tmp_path / "restored")
    assert list(load_model(tmp_path / "restored").predict(X)) == ["n", "y", "n"]


def test_another_build_of_the_same_release_does_not_warn(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    _edit(folder, {"libraries": {"numpy": np.__version__ + "+cu121"}})
    load_model(folder)  # warnings are errors in the tests


def test_two_saves_racing_for_one_path(tmp_path: Path) -> None:
    """One wins whole; the other gets ModelExists; no temporary folder is left."""
    import threading

    barrier, outcomes = threading.Barrier(2), []

    def save(cut: float) -> None:
        model = Threshold(np.array([1.0, -1.0]), cut, ["n", "y"])
        barrier.wait()
        try:
            save_model(model, tmp_path / "m", sample=X)
            outcomes.append("saved")
        except ModelExists:
            outcomes.append("exists")

    threads = [threading.Thread(target=save, args=(c,)) for c in (0.0, 1.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["exists", "saved"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    load_model(tmp_path / "m").predict(X)


def test_a_folder_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    from tether.models import ModelWriteFailed

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ModelWriteFailed, match=r"cannot save a model to .*writable"):
        _save(tmp_path / "file" / "m")
    assert (tmp_path / "file").read_text() == "not a folder"


def test_a_signature_naming_an_unknown_dtype(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    signature = _manifest(folder)["signature"]
    signature["inputs"]["specs"][0]["dtype"] = "os.system"  # type: ignore[index]
    _edit(folder, {"signature": signature})
    with pytest.raises(BadManifest, match=r"signature is malformed.*'os.system'"):
        load_model(folder)
