"""``tether models import DIR NAME``: an MLflow model folder registered as a Tether version.

Read safely, from the first of these flavours the folder has:

- ``sklearn``: a skops file (Tether's trust rules: skops's trusted types plus scikit-learn's
  own classes); stored again as skops;
- ``xgboost``: the booster's JSON or UBJSON file, into the class ``model_class`` names (an
  XGBoost class, else refused);
- ``lightgbm``: a ``lightgbm.basic.Booster``'s text file (with the classes Tether's export
  keeps as ``tether_classes``); a scikit-learn wrapper (``LGBMClassifier``...) MLflow stores
  as a pickle or as skops with LightGBM's types, so it needs trust;
- ``onnx``: the ``.onnx`` file (a model with external data files is refused).

A pickle or cloudpickle model runs code when read: it needs ``trust=True`` (``--trust``), is
then logged and warned like any trusted load, and is stored again in a safe format, so that
later loads are safe. The input example becomes the sample (so the version gets a
signature), cast to the dtypes of MLflow's signature; the model is registered with
``tether.models.log``.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.models.errors import BadMlflowModel

if TYPE_CHECKING:
    from tether.store import ModelVersion
    from tether.workspace import Workspace

log = logging.getLogger("tether.models")

PICKLES = ("pickle", "cloudpickle")


def import_mlflow(
    folder: str | os.PathLike[str],
    name: str,
    *,
    trust: bool = False,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> ModelVersion:
    """Register the MLflow model in ``folder`` as the next version of ``name``."""
    from tether.models.mlflow_export import MLMODEL, yaml_module
    from tether.models.publish import log as log_model
    from tether.store.validate import entity_name

    entity_name("model name", name)
    root = Path(folder)
    path = root / MLMODEL
    if not path.is_file():
        raise BadMlflowModel(root, f"it has no {MLMODEL} file; pass the folder MLflow wrote")
    yaml = yaml_module()
    try:
        mlmodel = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise BadMlflowModel(root, f"{MLMODEL} is not readable YAML ({e})") from None
    flavors = mlmodel.get("flavors") if isinstance(mlmodel, dict) else None
    if not isinstance(flavors, dict):
        raise BadMlflowModel(root, f"{MLMODEL} lists no flavors")
    found = next((f for f in READERS if isinstance(flavors.get(f), dict)), None)
    if found is None:
        known = ", ".join(sorted(str(f) for f in flavors)) or "none"
        raise BadMlflowModel(
            root,
            f"it has no flavour Tether reads ({', '.join(READERS)}); it has: {known}",
        )
    model = READERS[found](root, flavors[found], trust=trust)
    sample = _example(root, mlmodel)
    return log_model(
        model,
        name,
        sample=sample,
        flavor=found,
        tags={"tether.imported_from": f"mlflow:{root.resolve()}"},
        workspace=workspace,
    )


def _inside(root: Path, relative: object) -> Path:
    if not isinstance(relative, str) or not relative:
        raise BadMlflowModel(root, f"the model file name {relative!r} is not a path")
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise BadMlflowModel(root, f"the model file {relative!r} is not a file inside the folder")
    return path


def _read_sklearn(root: Path, conf: dict[str, Any], *, trust: bool) -> Any:
    path = _inside(root, conf.get("pickled_model"))
    return _read_pickled(root, path, conf, trust=trust)


def _read_xgboost(root: Path, conf: dict[str, Any], *, trust: bool) -> Any:
    from tether.models.registry import get_flavor

    xgb = get_flavor("xgboost").require("xgboost")
    path = _inside(root, conf.get("data"))
    fmt = conf.get("model_format", path.suffix.lstrip("."))
    if fmt not in ("json", "ubj"):
        raise BadMlflowModel(
            root,
            f"its XGBoost model is in the {fmt!r} format; Tether reads XGBoost's JSON and "
            "UBJSON (save it again with model_format='json' or 'ubj')",
        )
    text = str(conf.get("model_class", "xgboost.core.Booster"))
    module, _, name = text.rpartition(".")
    cls = _xgboost_class(module, name)
    if cls is None or not issubclass(cls, xgb.Booster | xgb.XGBModel):
        raise BadMlflowModel(root, f"model_class {text!r} is not an XGBoost model class")
    model = cls()
    try:
        model.load_model(str(path))
    except Exception as e:
        raise BadMlflowModel(
            root, f"{path.name} could not be read ({type(e).__name__}: {e})"
        ) from None
    return model


def _xgboost_class(module: str, name: str) -> Any:
    """The class ``module.name`` when it is XGBoost's own (nothing else is imported)."""
    import importlib

    if module.split(".")[0] != "xgboost" or not name.isidentifier():
        return None
    try:
        cls = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return cls if isinstance(cls, type) else None


def _read_lightgbm(root: Path, conf: dict[str, Any], *, trust: bool) -> Any:
    from tether.models.flavors.lightgbm import BoosterModel
    from tether.models.registry import get_flavor

    lgb = get_flavor("lightgbm").require("lightgbm")
    path = _inside(root, conf.get("data"))
    model_class = conf.get("model_class", "lightgbm.basic.Booster")
    if model_class != "lightgbm.basic.Booster":  # a scikit-learn wrapper: pickle or skops
        model = _read_pickled(root, path, conf, trust=trust, sklearn_only=False)
        if not isinstance(model, lgb.LGBMModel):
            raise BadMlflowModel(root, f"{path.name} holds a {type(model).__qualname__}")
        return model
    try:
        booster = lgb.Booster(model_file=str(path))
    except Exception as e:
        raise BadMlflowModel(
            root, f"{path.name} could not be read ({type(e).__name__}: {e})"
        ) from None
    classes = conf.get("tether_classes")
    if classes is None:
        return booster
    if not isinstance(classes, list) or not all(
        isinstance(c, str | int | float | bool) for c in classes
    ):
        raise BadMlflowModel(root, "its tether_classes is not a list of labels")
    return BoosterModel(booster, classes)


def _read_onnx(root: Path, conf: dict[str, Any], *, trust: bool) -> Any:
    from tether.models.registry import get_flavor

    onnx = get_flavor("onnx").require("onnx")
    path = _inside(root, conf.get("data"))
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:
        raise BadMlflowModel(
            root, f"{path.name} could not be read ({type(e).__name__}: {e})"
        ) from None
    external = onnx.TensorProto.EXTERNAL
    if any(t.data_location == external for t in _onnx_tensors(model.graph)):
        raise BadMlflowModel(
            root,
            f"{path.name} keeps its weights in external data files, which Tether does not "
            "import; save the model as one .onnx file",
        )
    return model


def _onnx_tensors(graph: Any) -> Any:
    """Every tensor of an ONNX graph: initializers and node attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _onnx_tensors(attribute.g)
            for sub in attribute.graphs:
                yield from _onnx_tensors(sub)


def _read_pickled(
    root: Path, path: Path, conf: dict[str, Any], *, trust: bool, sklearn_only: bool = True
) -> Any:
    """A model MLflow wrote as skops, pickle or cloudpickle (``serialization_format``)."""
    from tether.models.errors import TrustedLoadWarning, UntrustedModel

    fmt = conf.get("serialization_format", "pickle")  # MLflow's default before skops
    if fmt == "skops":
        return _read_skops(path, trust=trust, sklearn_only=sklearn_only)
    if fmt not in PICKLES:
        raise BadMlflowModel(root, f"serialization_format {fmt!r} is not known")
    if not trust:
        raise UntrustedModel(
            f"refusing to import {path}: it is a {fmt} file, and reading one runs whatever code "
            "it holds; pass --trust (trust=True) only if you trust where it came from"
        )
    log.warning("unpickling %s (trust=True)", path)
    warnings.warn(f"unpickling {path} because trust=True", TrustedLoadWarning, stacklevel=4)
    try:
        with path.open("rb") as f:
            if fmt == "cloudpickle":
                import cloudpickle

                return cloudpickle.load(f)
            import pickle

            return pickle.load(f)  # the caller passed trust=True
    except Exception as e:
        raise BadMlflowModel(
            root, f"{path.name} could not be read ({type(e).__name__}: {e})"
        ) from None


def _read_skops(path: Path, *, trust: bool, sklearn_only: bool = True) -> Any:
    from tether.errors import TetherError
    from tether.models.errors import CorruptModel
    from tether.models.flavors.sklearn import load_skops
    from tether.models.registry import get_flavor

    try:
        return load_skops(
            get_flavor("sklearn"),
            path,
            trust=trust,
            verb="import",
            hint="--trust (trust=True)",
            allow_sklearn=sklearn_only,
        )
    except TetherError:
        raise
    except Exception as e:
        raise CorruptModel(path, f"skops could not read it ({type(e).__name__}: {e})") from None


READERS = {
    "sklearn": _read_sklearn,
    "xgboost": _read_xgboost,
    "lightgbm": _read_lightgbm,
    "onnx": _read_onnx,
}


def _example(root: Path, mlmodel: dict[str, Any]) -> Any:
    """The saved input example as a DataFrame or an array (None without one)."""
    info = mlmodel.get("saved_input_example_info")
    if not isinstance(info, dict) or not info.get("artifact_path"):
        return None
    path = _inside(root, info["artifact_path"])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BadMlflowModel(root, f"its input example is not readable JSON ({e})") from None
    dtypes = _input_dtypes(mlmodel)
    try:
        if info.get("type") == "dataframe":
            import pandas as pd

            if isinstance(data, dict) and "columns" in data and "data" in data:
                frame = pd.DataFrame(data["data"], columns=data["columns"])
                known = {c: dtypes[c] for c in frame.columns if dtypes.get(c)}
                return frame.astype(known) if known else frame
            raise BadMlflowModel(root, "its DataFrame input example is not in the 'split' orient")
        import numpy as np

        if isinstance(data, dict):
            return {k: np.asarray(v, dtype=dtypes.get(k)) for k, v in data.items()}
        return np.asarray(data, dtype=dtypes.get(None))
    except (ValueError, TypeError) as e:
        raise BadMlflowModel(
            root, f"its input example does not fit its signature's types ({e})"
        ) from None


# MLflow column type -> the dtype an input example column is read as
COLUMN_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
}


def _input_dtypes(mlmodel: dict[str, Any]) -> dict[str | None, str]:
    """The NumPy dtype of each input the MLflow signature types (a tensor's name may be None);
    an example read from JSON has Python's floats and ints, a float32 model wants float32."""
    import numpy as np

    signature = mlmodel.get("signature")
    raw = signature.get("inputs") if isinstance(signature, dict) else None
    try:
        specs = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    out: dict[str | None, str] = {}
    for spec in specs if isinstance(specs, list) else []:
        if not isinstance(spec, dict):
            continue
        name = spec.get("name") if isinstance(spec.get("name"), str) else None
        if spec.get("type") == "tensor":
            dtype = (spec.get("tensor-spec") or {}).get("dtype")
            try:
                if isinstance(dtype, str) and np.dtype(dtype).kind in "biuf":
                    out[name] = str(np.dtype(dtype))
            except TypeError:
                continue
        elif name is not None and spec.get("type") in COLUMN_DTYPES:
            out[name] = COLUMN_DTYPES[spec["type"]]
    return out
