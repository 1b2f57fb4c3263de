"""LightGBM boosters in LightGBM's text format. A scikit-learn wrapper (``LGBMClassifier``,
``LGBMRegressor``, ...) is stored as its booster plus what its ``predict`` adds: the classes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.errors import UnsupportedModel
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor

FILE = "model.txt"


class BoosterModel:
    """A loaded LightGBM model: the booster, and the classes when it was a classifier."""

    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        self.booster = booster
        self.classes = classes

    def predict_proba(self, inputs: Any) -> Any:
        import numpy as np

        raw = np.asarray(self.booster.predict(inputs))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, inputs: Any) -> Any:
        import numpy as np

        if self.classes is None:
            return self.booster.predict(inputs)
        return np.asarray(self.classes)[self.predict_proba(inputs).argmax(axis=1)]


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    extra = "lightgbm"
    libraries = ("lightgbm", "numpy")

    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        lgb = self.require("lightgbm")
        classes = None
        if isinstance(model, lgb.LGBMModel):
            if isinstance(model, lgb.LGBMClassifier):
                classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
                if not all(isinstance(c, str | int | float | bool) for c in classes):
                    raise UnsupportedModel("LightGBM classes must be text, numbers or booleans")
            booster = model.booster_
        elif isinstance(model, lgb.Booster):
            booster = model
        elif isinstance(model, BoosterModel):  # as loaded (or imported): saved again
            booster, classes = model.booster, model.classes
        else:
            raise UnsupportedModel(
                f"the lightgbm flavour stores a lightgbm.Booster, LGBMModel or a loaded model, "
                f"not a {type(model).__qualname__}"
            )
        booster.save_model(str(folder / FILE))
        return {"file": FILE, "classes": classes}

    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        lgb = self.require("lightgbm")
        booster = lgb.Booster(model_file=str(files.path(str(options.get("file", FILE)))))
        classes = options.get("classes")
        return BoosterModel(booster, list(classes) if isinstance(classes, list) else None)
