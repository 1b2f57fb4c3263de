"""MLflow export and import of the native flavours: XGBoost (JSON), LightGBM (booster text) and
ONNX, as MLflow's own flavours write them; PyTorch and generic Python models are refused with
the reason. MLflow's own loader reads the exported folders in its own virtual environment."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import tether.models as tm
from tests.models.flavors.support import need

ROOT = Path(__file__).resolve().parents[2]

# what MLflow's loaders import for these flavours, added to the benchmarks' MLflow venv (one
# venv, installed once: ensure_venv reuses a venv that has more than it is asked for)
MLFLOW_FLAVOUR_PACKAGES = ["xgboost-cpu", "lightgbm", "onnx", "onnxruntime"]

FRAME = pd.DataFrame(np.random.default_rng(5).normal(size=(120, 3)), columns=["a", "b", "c"])
LABELS = np.where(FRAME["a"] + FRAME["b"] > 0, "yes", "no")


@pytest.fixture
def native(ws: Path) -> dict[str, Any]:
    """One version of each native flavour: name -> (the model's sample, Tether's predictions)."""
    xgb = need("xgboost")
    lgb = need("lightgbm")
    skl2onnx = need("skl2onnx")
    from sklearn.linear_model import LogisticRegression

    ints = (LABELS == "yes").astype("int64")
    xgb_model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(FRAME, ints)
    lgb_model = lgb.LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1)
    lgb_model.fit(FRAME, LABELS)
    x32 = FRAME.to_numpy("float32")
    proto = skl2onnx.to_onnx(LogisticRegression().fit(x32, ints), x32[:1])
    tm.log(xgb_model, "xgb", sample=FRAME[:5])
    tm.log(lgb_model, "lgbm", sample=FRAME[:5])
    tm.log(proto, "onx", sample=x32[:5])
    return {
        "xgb": (FRAME, tm.load("xgb").predict(FRAME)),
        "lgbm": (FRAME, tm.load("lgbm").predict(FRAME)),
        "onx": (x32, tm.load("onx").predict(x32)),
    }


@pytest.mark.parametrize(
    ("name", "flavor", "data", "extra"),
    [
        ("xgb", "xgboost", "model.json", {"model_format": "json"}),
        ("lgbm", "lightgbm", "model.lgb", {"tether_classes": ["no", "yes"]}),
        ("onx", "onnx", "model.onnx", {"providers": ["CPUExecutionProvider"]}),
    ],
)
def test_a_native_flavour_is_exported_as_mlflow_writes_it(
    native: dict[str, Any], ws: Path, name: str, flavor: str, data: str, extra: dict[str, Any]
) -> None:
    out = tm.export_mlflow(name, ws / name)
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    pyfunc = mlmodel["flavors"]["python_function"]
    assert (pyfunc["loader_module"], pyfunc["data"]) == (f"mlflow.{flavor}", data)
    conf = mlmodel["flavors"][flavor]
    assert conf["data"] == data and (out / data).is_file()
    assert extra.items() <= conf.items()
    assert mlmodel["signature"]["inputs"] is not None
    reqs = (out / "requirements.txt").read_text().split()
    assert any(r.startswith(("xgboost==", "lightgbm==", "onnx==")) for r in reqs)
    assert not [p for p in out.iterdir() if p.suffix in (".pkl", ".pickle")]


def test_xgboost_names_its_class_as_mlflow_does(native: dict[str, Any], ws: Path) -> None:
    out = tm.export_mlflow("xgb", ws / "x")
    conf = yaml.safe_load((out / "MLmodel").read_text())["flavors"]["xgboost"]
    assert conf["model_class"] == "xgboost.sklearn.XGBClassifier"


@pytest.mark.parametrize("name", ["xgb", "lgbm", "onx"])
def test_export_then_import_predicts_the_same(native: dict[str, Any], ws: Path, name: str) -> None:
    tm.export_mlflow(name, ws / name)
    mv = tm.import_mlflow(ws / name, f"{name}-in")
    original = tm.model_version(name)
    assert mv.flavor == original.flavor
    assert mv.signature is not None and mv.signature["inputs"] == original.signature["inputs"]  # type: ignore[index]
    x, expected = native[name]
    np.testing.assert_array_equal(tm.load(f"{name}-in").predict(x), expected)


LOAD_WITH_TETHERS_LOADER = """
import json, sys
import numpy as np
folder = sys.argv[1]
sys.path.insert(0, folder + "/code")  # what mlflow.pyfunc does with the flavour's code
import tether_mlflow_loader
model = tether_mlflow_loader._load_pyfunc(folder + "/model")
x = np.asarray(json.load(open(folder + "/input_example.json")), dtype=sys.argv[2])
print(json.dumps({"tether": "tether" in sys.modules, "out": np.asarray(model.predict(x)).tolist()}))
"""


@pytest.mark.parametrize("flavor", ["torch", "python"])
def test_torch_and_python_models_are_exported_with_tethers_own_loader(
    ws: Path, flavor: str
) -> None:
    """MLflow's flavours for them are pickles: the export is a python_function model whose
    loader module is Tether's, reading safetensors or JSON + npz, without Tether installed."""
    if flavor == "torch":
        need("torch")
        from tests.models.flavors.torch_net import TinyNet

        x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
        tm.log(TinyNet(), "m", sample=x)
    else:
        from tests.models.flavors.python_code import Threshold

        x = np.random.default_rng(0).normal(size=(6, 2))
        tm.log(Threshold(np.array([1.0, -1.0]), 0.0, ["lo", "hi"]), "m", sample=x)
    out = tm.export_mlflow("m", ws / "out")
    pyfunc = yaml.safe_load((out / "MLmodel").read_text())["flavors"]["python_function"]
    assert (pyfunc["loader_module"], pyfunc["code"], pyfunc["data"]) == (
        "tether_mlflow_loader", "code", "model",
    )  # fmt: skip
    assert (out / "model" / "tether-model.json").is_file()
    assert not [p for p in out.rglob("*") if p.suffix in (".pkl", ".pickle", ".pt", ".pth")]
    done = subprocess.run(
        [sys.executable, "-c", LOAD_WITH_TETHERS_LOADER, str(out), str(x.dtype)],
        cwd=ws,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # the project's code, where the class is
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["tether"] is False  # the loader needs no Tether where MLflow serves
    expected = tm.load("m").predict(x[:5])
    if flavor == "torch":
        np.testing.assert_allclose(np.asarray(got["out"]), expected, rtol=1e-6)
    else:
        np.testing.assert_array_equal(np.asarray(got["out"]), expected)


def _folder(root: Path, flavor: str, conf: dict[str, Any], files: dict[str, bytes]) -> Path:
    root.mkdir()
    for name, content in files.items():
        (root / name).write_bytes(content)
    (root / "MLmodel").write_text(yaml.safe_dump({"flavors": {flavor: conf}}))
    return root


def test_an_xgboost_folder_naming_another_class_is_refused(ws: Path) -> None:
    xgb = need("xgboost")
    booster = xgb.XGBClassifier(n_estimators=2).fit(FRAME, LABELS == "yes").get_booster()
    booster.save_model(str(ws / "b.json"))
    content = (ws / "b.json").read_bytes()
    conf = {"data": "model.json", "model_format": "json", "model_class": "subprocess.Popen"}
    folder = _folder(ws / "evil", "xgboost", conf, {"model.json": content})
    with pytest.raises(tm.BadMlflowModel, match=r"'subprocess\.Popen' is not an XGBoost"):
        tm.import_mlflow(folder, "evil")
    conf = {"data": "model.xgb", "model_format": "xgb"}
    folder = _folder(ws / "old", "xgboost", conf, {"model.xgb": content})
    with pytest.raises(tm.BadMlflowModel, match="'xgb' format"):
        tm.import_mlflow(folder, "old")
    conf = {"data": "model.json", "model_format": "json"}  # a Booster, MLflow's default class
    mv = tm.import_mlflow(_folder(ws / "ok", "xgboost", conf, {"model.json": content}), "ok")
    assert mv.flavor == "xgboost"


def test_a_pickled_lightgbm_wrapper_needs_trust(ws: Path) -> None:
    lgb = need("lightgbm")
    model = lgb.LGBMClassifier(n_estimators=3, min_child_samples=5, verbose=-1).fit(FRAME, LABELS)
    conf = {
        "data": "model.pkl",
        "model_class": "lightgbm.sklearn.LGBMClassifier",
        "serialization_format": "cloudpickle",
    }
    folder = _folder(ws / "p", "lightgbm", conf, {"model.pkl": pickle.dumps(model)})
    with pytest.raises(tm.UntrustedModel, match="--trust"):
        tm.import_mlflow(folder, "p")
    from tether.tracking.session import open_session

    assert open_session(ws).store.list_models("proj") == []
    with pytest.warns(tm.TrustedLoadWarning):
        tm.import_mlflow(folder, "p", trust=True)
    assert list(tm.load("p").predict(FRAME)) == list(model.predict(FRAME))  # stored natively


def test_an_onnx_model_with_external_data_is_refused(ws: Path) -> None:
    onnx = need("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((3, 1), dtype="float32"), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        initializer=[weights],
    )  # fmt: skip
    proto = helper.make_model(graph)
    folder = ws / "ext"
    folder.mkdir()
    onnx.save_model(
        proto, str(folder / "model.onnx"), save_as_external_data=True,
        all_tensors_to_one_file=True, location="weights.bin", size_threshold=0,
    )  # fmt: skip
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"onnx": {"data": "model.onnx"}}}))
    with pytest.raises(tm.BadMlflowModel, match="external data files"):
        tm.import_mlflow(folder, "ext")


def test_a_folder_with_no_flavour_tether_reads_names_what_it_has(ws: Path) -> None:
    folder = _folder(ws / "t", "pytorch", {"model_data": "data"}, {})
    with pytest.raises(tm.BadMlflowModel, match=r"sklearn, xgboost, lightgbm, onnx.*pytorch"):
        tm.import_mlflow(folder, "t")


MLFLOW_PREDICT = """
import json, sys
import numpy as np, pandas as pd
import mlflow.pyfunc
out = {}
for name in sys.argv[1:]:
    m = mlflow.pyfunc.load_model(name)
    info = m.metadata.saved_input_example_info
    raw = json.load(open(name + "/input_example.json"))
    schema = m.metadata.get_input_schema()
    if info["type"] == "dataframe":
        x = pd.DataFrame(raw["data"], columns=raw["columns"])
    else:
        x = np.array(raw, dtype=schema.numpy_types()[0])
    got = m.predict(x)
    if isinstance(got, dict):  # onnx: every output by name; the first is the label
        got = next(iter(got.values()))
    if isinstance(got, pd.DataFrame):
        got = got.iloc[:, 0]
    out[name] = np.asarray(got).tolist()
print(json.dumps(out))
"""


@pytest.mark.slow  # MLflow in its own virtual environment (installed on first use)
def test_mlflow_loads_every_exported_flavour(native: dict[str, Any], ws: Path) -> None:
    from benchmarks.common import ANCHORS
    from benchmarks.harness import ensure_venv
    from tests.models.flavors.python_code import Threshold

    x2 = np.random.default_rng(1).normal(size=(8, 2))
    tm.log(Threshold(np.array([1.0, -1.0]), 0.0, ["lo", "hi"]), "thr", sample=x2)
    for name in [*native, "thr"]:
        tm.export_mlflow(name, ws / name)
    bindir = ensure_venv("mlflow", [*ANCHORS["mlflow"], *MLFLOW_FLAVOUR_PACKAGES])
    done = subprocess.run(
        [str(bindir / "python"), "-c", MLFLOW_PREDICT, *native, "thr"],
        cwd=ws,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # the project's code: Threshold's module
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    x, labels = native["xgb"]
    assert got["xgb"] == labels[:5].tolist()
    x, _ = native["lgbm"]  # MLflow runs the booster: the probability of the second class
    proba = tm.load("lgbm").model.predict_proba(x[:5])[:, 1]
    np.testing.assert_allclose(got["lgbm"], proba, rtol=1e-6)
    x, labels = native["onx"]
    assert got["onx"] == labels[:5].tolist()
    assert got["thr"] == tm.load("thr").predict(x2[:5]).tolist()  # through Tether's loader


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("string", "object"), ("category", "object"), ("Int64", "int64"), ("UInt8", "uint8"),
     ("Float32", "float32"), ("boolean", "bool"), ("datetime64[ns, UTC]", "datetime64[ns]"),
     ("float32", "float32"), ("int64", "int64")],
)  # fmt: skip
def test_tensor_dtypes_are_numpy_names_mlflow_parses(dtype: str, expected: str) -> None:
    from tether.models.mlflow_export import _tensor_dtype

    assert _tensor_dtype(dtype) == expected
    np.dtype(expected)  # what MLflow's TensorSpec does with it
