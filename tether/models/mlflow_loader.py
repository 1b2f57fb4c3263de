"""MLflow's ``loader_module`` for PyTorch and generic Python models that Tether exports.

``tether models export`` copies this file, as it is, into the exported folder
(``code/tether_mlflow_loader.py``); ``mlflow.pyfunc.load_model`` puts ``code/`` on the path and
calls :func:`_load_pyfunc` with the folder's ``model/`` (Tether's model folder). It reads the
same files Tether's flavours read, without pickle: a ``python`` model's ``state.json`` and
``state.npz`` (``allow_pickle=False``) given to its class's ``from_state``, a ``torch`` model's
``weights.safetensors`` loaded into its class built with its ``init_kwargs``. The class is
imported from the project's code, which must be importable where MLflow loads (installed or
on ``PYTHONPATH``), as for ``tether.models.load``.

It imports only the standard library and NumPy (PyTorch and safetensors for a torch model):
Tether is not installed where MLflow serves.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

MANIFEST = "tether-model.json"


def _class(ref: object) -> Any:
    if not isinstance(ref, str) or ":" not in ref:
        raise ValueError(f"model code reference {ref!r} is not 'package.module:Class'")
    module, _, qualname = ref.partition(":")
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    if not isinstance(value, type):
        raise TypeError(f"{ref} is not a class")
    return value


def _file(path: str, name: object, files: dict[str, Any]) -> str:
    """A file the manifest lists, inside the folder, with the size it records."""
    if not isinstance(name, str) or name not in files:
        raise ValueError(f"the model file {name!r} is not listed in {MANIFEST}")
    full = os.path.realpath(os.path.join(path, name))
    if not full.startswith(os.path.realpath(path) + os.sep) or not os.path.isfile(full):
        raise ValueError(f"the model file {name!r} is not a file inside {path}")
    if os.path.getsize(full) != files[name].get("size"):
        raise ValueError(f"the model file {name!r} does not have the size {MANIFEST} records")
    return full


class TetherModel:
    """What ``mlflow.pyfunc`` calls: ``predict(data, params=None)``."""

    def __init__(self, model: Any, flavor: str, kind: str | None) -> None:
        self.model = model
        self.flavor = flavor
        self.kind = kind  # the sample's kind: ndarray, dict, dataframe, arrow

    def get_raw_model(self) -> Any:
        return self.model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np

        if self.kind == "ndarray" and hasattr(data, "to_numpy"):
            data = data.to_numpy()
        if self.flavor != "torch":
            return self.model.predict(data)
        import torch

        with torch.no_grad():
            if isinstance(data, dict):
                out = self.model(**{k: torch.as_tensor(np.asarray(v)) for k, v in data.items()})
            else:
                out = self.model(torch.as_tensor(np.asarray(data)))
        if isinstance(out, tuple | list):
            return {str(i): o.numpy() for i, o in enumerate(out)}
        return out.numpy()


def _load_pyfunc(path: str) -> TetherModel:
    with open(os.path.join(path, MANIFEST), encoding="utf-8") as f:
        manifest = json.load(f)
    flavor, options = manifest.get("flavor"), manifest.get("options") or {}
    files = manifest.get("files") or {}
    signature = manifest.get("signature") or {}
    kind = (signature.get("inputs") or {}).get("kind")
    cls = _class(options.get("code"))
    if flavor == "python":
        with open(_file(path, options.get("values"), files), encoding="utf-8") as f:
            state = json.load(f)
        if options.get("arrays") is not None:
            import numpy as np

            with np.load(_file(path, options["arrays"], files), allow_pickle=False) as arrays:
                state.update({k: arrays[k] for k in arrays.files})
        return TetherModel(cls.from_state(state), flavor, kind)
    if flavor == "torch":
        import safetensors.torch
        import torch

        if not issubclass(cls, torch.nn.Module):
            raise TypeError(f"{options.get('code')} is not a torch.nn.Module")
        model = cls(**(options.get("init_kwargs") or {}))
        safetensors.torch.load_model(model, _file(path, options.get("file"), files), strict=True)
        model.eval()
        return TetherModel(model, flavor, kind)
    raise ValueError(f"this loader reads Tether's python and torch models, not {flavor!r}")
