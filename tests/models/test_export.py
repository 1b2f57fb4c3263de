"""MLflow export and import: MLflow's own loader reads what Tether writes; Tether reads
MLflow folders safely (skops), and a pickle only with trust."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import tether.models as tm
from tether.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def test_export_writes_an_mlflow_folder(ws: Path, clf: Any, xy: Any) -> None:
    x, _ = xy
    tm.log(clf, "churn", sample=x[:5])
    out = tm.export_mlflow("churn@1", ws / "exported")
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    sk = mlmodel["flavors"]["sklearn"]
    assert (sk["pickled_model"], sk["serialization_format"]) == ("model.skops", "skops")
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert inputs == [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 20]}}]
    example = json.loads((out / "input_example.json").read_text())
    np.testing.assert_allclose(np.array(example), x[:5])
    assert not [p for p in out.iterdir() if p.suffix in (".pkl", ".pickle")]


def test_export_and_import_round_trip(ws: Path, clf: Any, xy: Any) -> None:
    x, _ = xy
    tm.log(clf, "churn", sample=x[:5])
    tm.export_mlflow("churn", ws / "exported")
    mv = tm.import_mlflow(ws / "exported", "imported")
    assert (mv.model, mv.version, mv.flavor) == ("imported", 1, "sklearn")
    assert mv.signature is not None  # from the input example
    np.testing.assert_array_equal(tm.load("imported").predict(x), clf.predict(x))


def _pickle_folder(folder: Path, model: Any) -> Path:
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    mlmodel = {
        "flavors": {
            "sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"},
            "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.pkl"},
        }
    }
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    return folder


def test_a_pickled_mlflow_model_needs_trust(ws: Path, clf: Any, xy: Any) -> None:
    x, _ = xy
    folder = _pickle_folder(ws / "pickled", clf)
    with pytest.raises(tm.UntrustedModel, match="--trust"):
        tm.import_mlflow(folder, "p")
    from tether.tracking.session import open_session

    assert open_session(ws).store.list_models("proj") == []
    with pytest.warns(tm.TrustedLoadWarning):
        mv = tm.import_mlflow(folder, "p", trust=True)
    np.testing.assert_array_equal(tm.load("p").predict(x), clf.predict(x))  # stored as skops
    assert mv.flavor == "sklearn"


def test_a_malicious_pickle_is_never_read_without_trust(ws: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self) -> Any:
            return (os.system, (f"touch {marker}",))

    folder = _pickle_folder(ws / "evil", Evil())
    with pytest.raises(tm.UntrustedModel):
        tm.import_mlflow(folder, "evil")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("mlmodel", "match"),
    [
        (None, "no MLmodel"),
        ("flavors: [", "not readable YAML"),
        ("flavors:\n  pytorch: {}\n", "no flavour Tether reads"),
        ("flavors:\n  onnx: {}\n", "the model file name None is not a path"),
        (
            "flavors:\n  sklearn:\n    pickled_model: ../outside.skops\n"
            "    serialization_format: skops\n",
            "not a file inside",
        ),
    ],
)
def test_a_bad_mlflow_folder_is_refused(ws: Path, mlmodel: str | None, match: str) -> None:
    folder = ws / "bad"
    folder.mkdir()
    (ws / "outside.skops").write_bytes(b"x")
    if mlmodel is not None:
        (folder / "MLmodel").write_text(mlmodel)
    with pytest.raises(tm.BadMlflowModel, match=match):
        tm.import_mlflow(folder, "bad")


def test_export_refuses_what_mlflow_could_only_unpickle(ws: Path, clf: Any) -> None:
    tm.log(clf, "p", flavor="pickle", trust=True)
    with pytest.raises(InvalidInput, match="cannot export a 'pickle' model"):
        tm.export_mlflow("p", ws / "out")
    assert not (ws / "out").exists()


def test_export_never_overwrites_a_folder(ws: Path, clf: Any) -> None:
    tm.log(clf, "churn")
    (ws / "out").mkdir()
    (ws / "out" / "keep.txt").write_text("mine")
    with pytest.raises(tm.ModelExists):
        tm.export_mlflow("churn", ws / "out")
    assert [p.name for p in (ws / "out").iterdir()] == ["keep.txt"]


@pytest.mark.slow  # MLflow in its own virtual environment (installed on first use)
def test_mlflow_loads_the_exported_models(ws: Path, xy: Any) -> None:
    from sklearn.tree import DecisionTreeClassifier

    from benchmarks.common import ANCHORS
    from benchmarks.harness import ensure_venv
    from tests.models.test_export_flavors import MLFLOW_PREDICT  # one script for every flavour

    x, y = xy
    frame = pd.DataFrame(x[:, :3], columns=["a", "b", "c"])
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame, y)
    from sklearn.linear_model import LogisticRegression

    arr = LogisticRegression().fit(x, y)
    tm.log(tree, "tree", sample=frame[:5])
    tm.log(arr, "arr", sample=x[:5])
    tm.export_mlflow("tree", ws / "tree")
    tm.export_mlflow("arr", ws / "arr")
    bindir = ensure_venv("mlflow", ANCHORS["mlflow"])  # fails loudly if it cannot install
    done = subprocess.run(
        [str(bindir / "python"), "-c", MLFLOW_PREDICT, "tree", "arr"],
        cwd=ws,
        env={**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["tree"] == tree.predict(frame[:5]).tolist()
    assert got["arr"] == arr.predict(x[:5]).tolist()
