"""Which flavour stores a model: by name, or chosen from the model's type.

Flavours are named by dotted path and imported on first use (like fsspec's backends), so the
choice costs no import of scikit-learn, torch or any other library.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from tether.models.errors import UnknownFlavor, UnsupportedModel
from tether.models.flavor import Flavor

_FLAVORS: dict[str, str] = {
    "sklearn": "tether.models.flavors.sklearn:SklearnFlavor",
    "xgboost": "tether.models.flavors.xgboost:XGBoostFlavor",
    "lightgbm": "tether.models.flavors.lightgbm:LightGBMFlavor",
    "torch": "tether.models.flavors.torch:TorchFlavor",
    "onnx": "tether.models.flavors.onnx:OnnxFlavor",
    "python": "tether.models.flavors.python:PythonFlavor",
    "pickle": "tether.models.flavors.pickle:PickleFlavor",
}

# module of a class in the model's MRO -> flavour; the most derived class decides, so that an
# XGBClassifier (a scikit-learn estimator too) is stored natively
_BY_MODULE: tuple[tuple[str, str], ...] = (
    ("xgboost", "xgboost"),
    ("lightgbm", "lightgbm"),
    ("torch", "torch"),
    ("onnx", "onnx"),
    ("sklearn", "sklearn"),
)

_lock = threading.Lock()
_loaded: dict[str, Flavor] = {}


def register_flavor(name: str, target: str) -> None:
    """Add a flavour, named by ``"package.module:Class"`` (imported when first used)."""
    with _lock:
        _FLAVORS[name] = target
        _loaded.pop(name, None)


def flavor_names() -> list[str]:
    return sorted(_FLAVORS)


def get_flavor(name: str) -> Flavor:
    with _lock:
        if name in _loaded:
            return _loaded[name]
        target = _FLAVORS.get(name)
        if target is None:
            raise UnknownFlavor(name, sorted(_FLAVORS))
        module, _, attr = target.partition(":")
        flavor: Flavor = getattr(importlib.import_module(module), attr)()
        _loaded[name] = flavor
        return flavor


def choose_flavor(model: Any) -> Flavor:
    """The flavour for ``model`` from its type, without importing any model library."""
    for cls in type(model).__mro__:
        module = cls.__module__
        for prefix, name in _BY_MODULE:
            if module == prefix or module.startswith(prefix + "."):
                return get_flavor(name)
    if callable(getattr(model, "predict", None)):
        return get_flavor("python")
    raise UnsupportedModel(
        f"no model flavour stores a {type(model).__module__}.{type(model).__qualname__}: "
        f"it has no predict() method; pass flavor= one of {', '.join(flavor_names())}"
    )
