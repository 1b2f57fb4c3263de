"""XGBoost boosters and their scikit-learn wrappers in XGBoost's own format (JSON, or UBJSON
with ``options={"format": "ubj"}``): no pickle, readable by any XGBoost binding."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.code import code_ref, import_ref
from tether.models.errors import UnsupportedModel
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor


class XGBoostFlavor(Flavor):
    name = "xgboost"
    extra = "xgboost"
    libraries = ("xgboost", "numpy")

    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        xgb = self.require("xgboost")
        if not isinstance(model, xgb.Booster | xgb.XGBModel):
            raise UnsupportedModel(
                f"the xgboost flavour stores an xgboost.Booster or XGBModel, "
                f"not a {type(model).__qualname__}"
            )
        fmt = options.get("format", "json")
        if fmt not in ("json", "ubj"):
            raise UnsupportedModel(f"xgboost format {fmt!r} is not 'json' or 'ubj'")
        name = f"model.{fmt}"
        model.save_model(str(folder / name))
        return {"file": name, "class": code_ref(type(model))}

    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        xgb = self.require("xgboost")
        cls = import_ref(options.get("class"))
        if not (
            cls.__module__.split(".")[0] == "xgboost"
            and issubclass(cls, xgb.Booster | xgb.XGBModel)
        ):
            raise UnsupportedModel(f"{options.get('class')} is not an XGBoost model class")
        model = cls()
        model.load_model(str(files.path(str(options.get("file")))))
        return model

    def predict(self, model: Any, inputs: Any) -> Any:
        xgb = self.require("xgboost")
        if isinstance(model, xgb.Booster):
            return model.predict(xgb.DMatrix(inputs))
        return model.predict(inputs)
