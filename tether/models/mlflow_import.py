"""``tether models import DIR NAME``: an MLflow model folder registered as a Tether version.

Read safely: scikit-learn models saved with skops (Tether's trust rules: skops's trusted types
plus scikit-learn's own classes). A pickle or cloudpickle model runs code when read: it needs
``trust=True`` (``--trust``), is then logged and warned like any trusted load, and is stored
again as skops, so that later loads are safe. The input example becomes the sample (so the
version gets a signature); the model is registered with ``tether.models.log``.
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
    conf = flavors.get("sklearn")
    if not isinstance(conf, dict):
        known = ", ".join(sorted(str(f) for f in flavors)) or "none"
        raise BadMlflowModel(
            root, f"only the sklearn flavour can be imported so far (it has: {known})"
        )
    model = _read_sklearn(root, conf, trust=trust)
    sample = _example(root, mlmodel)
    return log_model(
        model,
        name,
        sample=sample,
        flavor="sklearn",
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
    from tether.models.errors import TrustedLoadWarning, UntrustedModel

    path = _inside(root, conf.get("pickled_model"))
    fmt = conf.get("serialization_format", "pickle")  # MLflow's default before skops
    if fmt == "skops":
        return _read_skops(path, trust=trust)
    if fmt not in PICKLES:
        raise BadMlflowModel(root, f"serialization_format {fmt!r} is not known")
    if not trust:
        raise UntrustedModel(
            f"refusing to import {path}: it is a {fmt} file, and reading one runs whatever code "
            "it holds; pass --trust (trust=True) only if you trust where it came from"
        )
    log.warning("unpickling %s (trust=True)", path)
    warnings.warn(f"unpickling {path} because trust=True", TrustedLoadWarning, stacklevel=3)
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


def _read_skops(path: Path, *, trust: bool) -> Any:
    from tether.errors import TetherError
    from tether.models.errors import CorruptModel
    from tether.models.flavors.sklearn import load_skops
    from tether.models.registry import get_flavor

    try:
        return load_skops(
            get_flavor("sklearn"), path, trust=trust, verb="import", hint="--trust (trust=True)"
        )
    except TetherError:
        raise
    except Exception as e:
        raise CorruptModel(path, f"skops could not read it ({type(e).__name__}: {e})") from None


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
    if info.get("type") == "dataframe":
        import pandas as pd

        if isinstance(data, dict) and "columns" in data and "data" in data:
            return pd.DataFrame(data["data"], columns=data["columns"])
        raise BadMlflowModel(root, "its DataFrame input example is not in the 'split' orient")
    import numpy as np

    if isinstance(data, dict):
        return {k: np.asarray(v) for k, v in data.items()}
    return np.asarray(data)
