"""PyTorch modules as safetensors weights plus a reference to the module's class.

Loading imports the class from the project's code (``module:Class``), builds it with the
constructor arguments recorded at save (``options={"init_kwargs": {...}}``, or the module's
own ``init_kwargs`` attribute), and loads the weights: no pickle is involved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.code import code_ref, import_ref
from tether.models.errors import UnsupportedModel
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor

FILE = "weights.safetensors"


class TorchFlavor(Flavor):
    name = "torch"
    extra = "torch"
    libraries = ("torch", "safetensors", "numpy")

    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        torch = self.require("torch")
        st = self.require("safetensors.torch")
        if not isinstance(model, torch.nn.Module):
            raise UnsupportedModel(
                f"the torch flavour stores a torch.nn.Module, not a {type(model).__qualname__}"
            )
        kwargs = options.get("init_kwargs", getattr(model, "init_kwargs", {}))
        try:
            json.dumps(kwargs)
        except (TypeError, ValueError) as e:
            raise UnsupportedModel(f"init_kwargs of the module must be JSON values: {e}") from None
        if not isinstance(kwargs, dict):
            raise UnsupportedModel("init_kwargs of the module must be a dict")
        ref = code_ref(type(model))
        st.save_model(model, str(folder / FILE))
        return {"code": ref, "init_kwargs": kwargs, "file": FILE}

    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        torch = self.require("torch")
        st = self.require("safetensors.torch")
        cls = import_ref(options.get("code"))
        if not issubclass(cls, torch.nn.Module):
            raise UnsupportedModel(f"{options.get('code')} is not a torch.nn.Module")
        kwargs = options.get("init_kwargs") or {}
        if not isinstance(kwargs, dict):
            raise TypeError("init_kwargs is not an object")
        model = cls(**kwargs)
        st.load_model(model, str(files.path(str(options.get("file", FILE)))), strict=True)
        model.eval()
        return model

    def predict(self, model: Any, inputs: Any) -> Any:
        torch = self.require("torch")
        with torch.no_grad():
            if isinstance(inputs, dict):
                out = model(**{k: torch.as_tensor(v) for k, v in inputs.items()})
            else:
                out = model(torch.as_tensor(inputs))
        if isinstance(out, tuple | list):
            return tuple(o.numpy() for o in out)
        return out.numpy()
