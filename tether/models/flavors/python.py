"""Any object with ``predict``, stored as a reference to its class plus its state.

The class implements ``get_state() -> dict`` (values that are JSON or NumPy arrays) and the
classmethod ``from_state(state) -> model``. The state is written as JSON and an ``.npz`` read
without pickle; loading imports the class from the project's code and calls ``from_state``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.code import code_ref, import_ref
from tether.models.errors import CodeNotFound, UnsupportedModel
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor

VALUES = "state.json"
ARRAYS = "state.npz"


class PythonFlavor(Flavor):
    name = "python"
    extra = "pandas"
    libraries = ("numpy",)

    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        cls = type(model)
        if not callable(getattr(model, "get_state", None)) or not callable(
            getattr(cls, "from_state", None)
        ):
            raise UnsupportedModel(
                f"a {cls.__qualname__} cannot be stored safely: give it get_state() (a dict of "
                "JSON values and NumPy arrays) and a classmethod from_state(state), or save it "
                "with flavor='pickle' (loading then needs trust=True)"
            )
        ref = code_ref(cls)
        state = model.get_state()
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise UnsupportedModel(f"{ref}.get_state() must return a dict with string keys")
        arrays = {k: v for k, v in state.items() if type(v).__module__ == "numpy"}
        values = {k: v for k, v in state.items() if k not in arrays}
        try:
            text = json.dumps(values, allow_nan=True, sort_keys=True)
        except (TypeError, ValueError) as e:
            raise UnsupportedModel(
                f"{ref}.get_state() returned a value that is neither JSON nor a NumPy array: {e}"
            ) from None
        (folder / VALUES).write_text(text, encoding="utf-8")
        if arrays:
            np = self.require("numpy")
            if any(a.dtype == object for a in arrays.values()):
                raise UnsupportedModel(
                    f"{ref}.get_state() returned an array of Python objects; use numbers or text"
                )
            with (folder / ARRAYS).open("wb") as f:
                np.savez(f, allow_pickle=False, **arrays)
        return {"code": ref, "values": VALUES, "arrays": ARRAYS if arrays else None}

    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        state = json.loads(files.path(str(options.get("values", VALUES))).read_text("utf-8"))
        if not isinstance(state, dict):
            raise TypeError(f"{VALUES} is not a JSON object")
        arrays = options.get("arrays")
        if arrays is not None:
            np = self.require("numpy")
            with np.load(files.path(str(arrays)), allow_pickle=False) as data:
                state.update({k: data[k] for k in data.files})
        cls = import_ref(options.get("code"))
        if not callable(getattr(cls, "from_state", None)):
            raise CodeNotFound(f"{options.get('code')} has no from_state(state) classmethod")
        return cls.from_state(state)
