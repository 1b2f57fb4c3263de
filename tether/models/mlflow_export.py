"""``tether models export REF --format mlflow DIR``: a model version as an MLflow model folder
(``MLmodel``, the flavour's files, signature, input example, requirements) that
``mlflow.pyfunc.load_model`` and ``mlflow models serve`` load.

Only formats MLflow loads without pickle are written, each as MLflow's own flavour writes it:

- scikit-learn as ``model.skops`` (MLflow's ``serialization_format: skops``, with the
  scikit-learn classes Tether trusts listed in ``skops_trusted_types``); MLflow refuses to
  read it unless ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`` is set where it loads;
- XGBoost in its JSON or UBJSON format (MLflow's ``xgboost`` flavour, ``model_class`` the
  saved class), LightGBM as its booster's text file (``lightgbm`` flavour, a
  ``lightgbm.basic.Booster``: MLflow predicts the booster's output, the probabilities of a
  classifier; the classes are kept as ``tether_classes``), ONNX as the ``.onnx`` file
  (``onnx`` flavour, run with onnxruntime on the CPU).

PyTorch and generic Python models, which MLflow's own flavours store as pickles, are written
as ``python_function`` models whose ``loader_module`` is Tether's (``mlflow_loader.py``, copied
into ``code/``): it reads Tether's model folder (``model/``: safetensors weights, or JSON and
``.npz`` state) and imports the model's class from the project's code, which must be
importable where MLflow loads. A ``pickle`` model is refused.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.models.errors import UnsupportedExport

if TYPE_CHECKING:
    from tether.models.manifest import ModelMeta
    from tether.workspace import Workspace

MLMODEL = "MLmodel"
# NumPy/pandas dtype -> MLflow column type (a DataFrame signature)
COLUMN_TYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "long",
    "int32": "integer",
    "int16": "integer",
    "int8": "integer",
    "Int64": "long",
    "Int32": "integer",
    "bool": "boolean",
    "boolean": "boolean",
    "string": "string",
    "category": "string",
    "datetime64[ns]": "datetime",
    "datetime64[us]": "datetime",
    "datetime64[ms]": "datetime",
}


def yaml_module() -> Any:
    from tether.errors import MissingDependency

    try:
        import yaml
    except ImportError:
        raise MissingDependency("reading and writing an MLmodel file", "mlflow", "pyyaml") from None
    return yaml


def export_mlflow(
    ref: str,
    folder: str | os.PathLike[str],
    *,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> Path:
    """Write the version ``ref`` names as the new MLflow model folder ``folder``."""
    from tether.models.errors import ModelExists, ModelWriteFailed
    from tether.models.fetch import model_folder, workspace_of
    from tether.models.files import ModelFiles
    from tether.models.manifest import MANIFEST, read_manifest

    yaml = yaml_module()
    ws = workspace_of(workspace)
    source = model_folder(ref, workspace=ws)
    meta = read_manifest(source)
    ModelFiles(source, meta.files, source / MANIFEST).verify()
    writer = WRITERS.get(meta.flavor)
    if writer is None:
        why = UNSUPPORTED.get(meta.flavor, "MLflow has no flavour for it that Tether can write")
        raise UnsupportedExport(meta.flavor, why)
    target = Path(folder)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise ModelExists(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as e:
        raise ModelWriteFailed(target, e) from None
    try:
        mlmodel = writer(source, meta, tmp)
        mlmodel.update(_example(source, meta, tmp))
        if meta.signature is not None:
            mlmodel["signature"] = mlflow_signature(meta.signature.to_json())
        _environment(meta, tmp)
        mlmodel["model_size_bytes"] = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        mlmodel["model_uuid"] = uuid.uuid4().hex
        mlmodel["utc_time_created"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        (tmp / MLMODEL).write_text(yaml.safe_dump(mlmodel, sort_keys=True), encoding="utf-8")
        with _os_errors(target):
            if target.exists():
                target.rmdir()
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


class _os_errors:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        if isinstance(error, OSError):
            from tether.models.errors import ModelWriteFailed

            raise ModelWriteFailed(self.target, error) from None


def _sklearn(source: Path, meta: ModelMeta, tmp: Path) -> dict[str, Any]:
    from tether.models.flavors.sklearn import FILE, _sklearn_class
    from tether.models.registry import get_flavor

    name = str(meta.options.get("file", FILE))
    sio = get_flavor("sklearn").require("skops.io")
    found = sio.get_untrusted_types(file=source / name)
    unsafe = [t for t in found if not _sklearn_class(t)]
    if unsafe:
        raise UnsupportedExport(
            "sklearn",
            f"it uses types skops does not know to be safe ({', '.join(unsafe)}), which "
            "MLflow would have to trust blindly; export models built from scikit-learn classes",
        )
    shutil.copyfile(source / name, tmp / "model.skops")
    python = meta.python or platform.python_version()
    return {
        "flavors": {
            "python_function": {
                "env": {"virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.sklearn",
                "model_path": "model.skops",
                "predict_fn": "predict",
                "python_version": python,
            },
            "sklearn": {
                "code": None,
                "pickled_model": "model.skops",
                "serialization_format": "skops",
                "sklearn_version": meta.libraries.get("sklearn"),
                "skops_trusted_types": sorted(found) or None,
            },
        },
    }


def _native(loader: str, flavor: dict[str, Any], data: str, meta: ModelMeta) -> dict[str, Any]:
    """The ``flavors`` of a model MLflow reads from its library's own file ``data``."""
    return {
        "flavors": {
            "python_function": {
                "data": data,
                "env": {"virtualenv": "python_env.yaml"},
                "loader_module": loader,
                "python_version": meta.python or platform.python_version(),
            },
            loader.rpartition(".")[2]: {"code": None, "data": data, **flavor},
        },
    }


def _xgboost(source: Path, meta: ModelMeta, tmp: Path) -> dict[str, Any]:
    name = str(meta.options.get("file", "model.json"))
    fmt = name.rpartition(".")[2]
    if fmt not in ("json", "ubj"):
        raise UnsupportedExport("xgboost", f"its file {name!r} is not XGBoost JSON or UBJSON")
    shutil.copyfile(source / name, tmp / name)
    module, _, cls = str(meta.options.get("class", "xgboost.core:Booster")).partition(":")
    flavor = {
        "model_class": f"{module}.{cls}",  # MLflow names classes with dots only
        "model_format": fmt,
        "xgb_version": meta.libraries.get("xgboost"),
    }
    return _native("mlflow.xgboost", flavor, name, meta)


def _lightgbm(source: Path, meta: ModelMeta, tmp: Path) -> dict[str, Any]:
    from tether.models.flavors.lightgbm import FILE

    name = str(meta.options.get("file", FILE))
    shutil.copyfile(source / name, tmp / "model.lgb")
    flavor: dict[str, Any] = {
        "lgb_version": meta.libraries.get("lightgbm"),
        "model_class": "lightgbm.basic.Booster",
    }
    classes = meta.options.get("classes")
    if isinstance(classes, list):
        flavor["tether_classes"] = classes  # MLflow ignores it; import reads it back
    return _native("mlflow.lightgbm", flavor, "model.lgb", meta)


def _onnx(source: Path, meta: ModelMeta, tmp: Path) -> dict[str, Any]:
    from tether.models.flavors.onnx import FILE

    name = str(meta.options.get("file", FILE))
    shutil.copyfile(source / name, tmp / "model.onnx")
    flavor = {
        "onnx_version": meta.libraries.get("onnx"),
        "providers": ["CPUExecutionProvider"],
    }
    return _native("mlflow.onnx", flavor, "model.onnx", meta)


LOADER = "tether_mlflow_loader"  # code/<LOADER>.py: MLflow's loader_module for python, torch


def _with_loader(source: Path, meta: ModelMeta, tmp: Path) -> dict[str, Any]:
    """A PyTorch or generic Python model: Tether's model folder as ``model/`` and Tether's own
    loader (``mlflow_loader.py``, no pickle) as the ``python_function`` loader module; the
    model's class is imported from the project's code where MLflow loads."""
    from tether.models import mlflow_loader
    from tether.models.manifest import MANIFEST

    (tmp / "model").mkdir()
    for name in [MANIFEST, *meta.files]:
        (tmp / "model" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, tmp / "model" / name)
    (tmp / "code").mkdir()
    shutil.copyfile(str(mlflow_loader.__file__), tmp / "code" / f"{LOADER}.py")
    return {
        "flavors": {
            "python_function": {
                "code": "code",
                "data": "model",
                "env": {"virtualenv": "python_env.yaml"},
                "loader_module": LOADER,
                "python_version": meta.python or platform.python_version(),
                "tether_flavor": meta.flavor,
                "tether_code": meta.options.get("code"),
            },
        },
    }


WRITERS = {
    "sklearn": _sklearn,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "onnx": _onnx,
    "torch": _with_loader,
    "python": _with_loader,
}

UNSUPPORTED = {
    "pickle": "it is a pickle, and an exported pickle would run code wherever MLflow loads it",
}

# module (as ModelMeta.libraries names it) -> the distribution to pin in requirements.txt
PINS = {
    "sklearn": "scikit-learn",
    "skops": "skops",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "torch": "torch",
    "safetensors": "safetensors",
    "numpy": "numpy",
}


def _environment(meta: ModelMeta, tmp: Path) -> None:
    pins = PINS
    reqs = [
        f"{dist}=={meta.libraries[mod].split('+')[0]}"
        for mod, dist in pins.items()
        if mod in meta.libraries
    ]
    (tmp / "requirements.txt").write_text("mlflow\n" + "\n".join(reqs) + "\n", encoding="utf-8")
    python = meta.python or platform.python_version()
    (tmp / "python_env.yaml").write_text(
        f"python: {python}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n",
        encoding="utf-8",
    )


def _example(source: Path, meta: ModelMeta, tmp: Path) -> dict[str, Any]:
    """input_example.json and serving_input_example.json, as MLflow writes them."""
    if meta.example is None or meta.signature is None:
        return {}
    from tether.models.example import read_example

    kind = meta.signature.inputs.kind
    value = read_example(kind, source / meta.example)
    if kind in ("dataframe", "arrow"):
        frame = value if kind == "dataframe" else value.to_pandas()
        split = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
        example: Any = {"columns": split["columns"], "data": split["data"]}
        serving: Any = {"dataframe_split": example}
        info = {"type": "dataframe", "pandas_orient": "split"}
    elif kind == "ndarray":
        example = value.tolist()
        serving = {"inputs": example}
        info = {"type": "ndarray"}
    else:  # a dict of arrays
        example = {k: v.tolist() for k, v in value.items()}
        serving = {"inputs": example}
        info = {"type": "ndarray"}
    (tmp / "input_example.json").write_text(json.dumps(example), encoding="utf-8")
    (tmp / "serving_input_example.json").write_text(json.dumps(serving, indent=2), encoding="utf-8")
    info.update(artifact_path="input_example.json", serving_input_path="serving_input_example.json")
    return {"saved_input_example_info": info}


def mlflow_signature(signature: dict[str, Any]) -> dict[str, Any]:
    """A Tether signature (JSON) as MLflow's ``signature`` entry (JSON strings)."""
    out: dict[str, Any] = {"params": None}
    for direction in ("inputs", "outputs"):
        schema = signature.get(direction)
        out[direction] = None if schema is None else json.dumps(_schema(schema))
    return out


def _schema(schema: dict[str, Any]) -> list[dict[str, Any]]:
    specs = schema.get("specs") or []
    if schema.get("kind") in ("dataframe", "arrow"):
        columns = []
        for s in specs:
            column: dict[str, Any] = {
                "type": COLUMN_TYPES.get(str(s.get("dtype")), "string"),
                "required": not s.get("nullable", False),
            }
            if s.get("name") is not None:
                column["name"] = s["name"]
            columns.append(column)
        return columns
    tensors = []
    for s in specs:
        tensor: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {
                "dtype": _tensor_dtype(str(s.get("dtype"))),
                "shape": list(s.get("shape") or [-1]),
            },
        }
        if s.get("name") is not None:
            tensor["name"] = s["name"]
        tensors.append(tensor)
    return tensors


def _tensor_dtype(dtype: str) -> str:
    """A signature dtype as a NumPy dtype name, which MLflow's tensor specs must be: text as
    ``object``, pandas's nullable dtypes as their NumPy counterparts."""
    if dtype in ("string", "category"):
        return "object"
    if dtype == "boolean":
        return "bool"
    if dtype != dtype.lower() and dtype.lower().startswith(("int", "uint", "float")):
        return dtype.lower()  # Int64, UInt8, Float32
    if dtype.startswith("datetime64[") and "," in dtype:  # with a time zone
        return dtype.split(",")[0] + "]"
    return dtype
