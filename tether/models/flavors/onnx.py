"""ONNX models (``onnx.ModelProto``) as an ``.onnx`` file, run with onnxruntime on the CPU."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.errors import UnsupportedModel
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor

FILE = "model.onnx"


class OnnxSession:
    """A loaded ONNX model: ``predict`` returns the first output, ``run`` all of them."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_names = [i.name for i in session.get_inputs()]

    def run(self, inputs: Any) -> list[Any]:
        import numpy as np

        if isinstance(inputs, dict):
            feed = {k: np.asarray(v) for k, v in inputs.items()}
        elif hasattr(inputs, "columns") and len(self.input_names) > 1:
            feed = {str(c): inputs[c].to_numpy().reshape(-1, 1) for c in inputs.columns}
        else:
            array = inputs.to_numpy() if hasattr(inputs, "to_numpy") else np.asarray(inputs)
            feed = {self.input_names[0]: array}
        return list(self.session.run(None, feed))

    def predict(self, inputs: Any) -> Any:
        return self.run(inputs)[0]


class OnnxFlavor(Flavor):
    name = "onnx"
    extra = "onnx"
    libraries = ("onnx", "onnxruntime", "numpy")

    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        onnx = self.require("onnx")
        if not isinstance(model, onnx.ModelProto):
            raise UnsupportedModel(
                f"the onnx flavour stores an onnx.ModelProto, not a {type(model).__qualname__}"
            )
        onnx.checker.check_model(model)
        onnx.save_model(model, str(folder / FILE))
        return {"file": FILE}

    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        ort = self.require("onnxruntime")
        path = files.path(str(options.get("file", FILE)))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return OnnxSession(session)

    def predict(self, model: Any, inputs: Any) -> Any:
        if not isinstance(model, OnnxSession):  # saving: the sample runs on a fresh session
            ort = self.require("onnxruntime")
            model = OnnxSession(
                ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            )
        return model.predict(inputs)
