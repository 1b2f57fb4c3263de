"""Any Python object as a pickle: the last resort. Loading a pickle can run any code, so it
needs ``trust=True``, and then it is logged and warned."""

from __future__ import annotations

import logging
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.errors import TrustedLoadWarning, UntrustedModel
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor

FILE = "model.pkl"
log = logging.getLogger("tether.models")


class PickleFlavor(Flavor):
    name = "pickle"
    extra = ""  # the standard library's pickle: nothing to install
    libraries = ()

    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        with (folder / FILE).open("wb") as f:
            pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
        return {"file": FILE}

    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        path = files.path(str(options.get("file", FILE)))
        if not trust:
            raise UntrustedModel(
                f"refusing to unpickle {path}: a pickle can run any code when loaded; "
                "pass trust=True only if you trust where it came from"
            )
        message = f"unpickling {path} because trust=True was given"
        log.warning(message)
        warnings.warn(message, TrustedLoadWarning, stacklevel=4)
        with path.open("rb") as f:
            return pickle.load(f)
