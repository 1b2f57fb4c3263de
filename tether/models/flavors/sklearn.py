"""scikit-learn estimators and pipelines as skops files: loading builds only the types skops
knows to be safe, unless the caller trusts the file."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.errors import UntrustedModel
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor

FILE = "model.skops"


class SklearnFlavor(Flavor):
    name = "sklearn"
    extra = "sklearn"
    libraries = ("sklearn", "skops", "numpy")

    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        sio = _skops(self)
        sio.dump(model, folder / FILE)
        return {"file": FILE}

    def save_fast(self, model: Any, folder: Path, sample: Any) -> dict[str, Any]:
        """A NumPy-only predictor of a linear model (``flavors/linear.py``) or of a tree or a
        forest (``flavors/trees.py``), where one answers exactly as the estimator does."""
        from tether.models.flavors import linear, trees

        rule = linear.save_predictor(model, folder, sample)
        if rule is not None:
            return {"linear": rule}
        rule = trees.save_predictor(model, folder, sample)
        return {} if rule is None else {"trees": rule}

    def load_fast(self, files: ModelFiles, options: Mapping[str, Any]) -> Any | None:
        for key in ("linear", "trees"):
            rule = options.get(key)
            if isinstance(rule, dict):
                from tether.models.flavors import linear, trees

                module = linear if key == "linear" else trees
                return module.read_predictor(files.path(str(rule.get("file", module.FILE))), rule)
        return None

    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        path = files.path(str(options.get("file", FILE)))
        return load_skops(self, path, trust=trust, verb="load", hint="trust=True")


def load_skops(
    flavor: Flavor, path: Path, *, trust: bool, verb: str, hint: str, allow_sklearn: bool = True
) -> Any:
    """The estimator in the skops file ``path``. Every type the file names must be one skops
    trusts by default or (with ``allow_sklearn``) a class scikit-learn defines, unless
    ``trust``; then skops builds only the types that check listed (``UntrustedModel``
    otherwise)."""
    sio = _skops(flavor)
    from tether.models.flavors.skops_io import tether_checks

    with tether_checks():  # the allow-list below stands in for skops' survey of estimators
        found = sio.get_untrusted_types(file=path)
        untrusted = [n for n in found if not (allow_sklearn and _sklearn_class(n))]
        if untrusted and not trust:
            raise UntrustedModel(
                f"refusing to {verb} {path}: it uses types skops does not know to be safe: "
                f"{', '.join(untrusted)}; pass {hint} if you trust where it came from"
            )
        return sio.load(path, trusted=found)


def _skops(flavor: Flavor) -> Any:
    """``skops.io`` (without its import-time survey of scikit-learn, see ``skops_io``)."""
    from tether.models.flavors.skops_io import skops_io

    try:
        return skops_io()
    except ImportError:
        return flavor.require("skops.io")  # names the extra that installs what is missing


def _sklearn_class(name: str) -> bool:
    """A class defined by scikit-learn itself (``sklearn.tree._tree.Tree``, which skops does
    not trust by default). Functions stay untrusted: a ``FunctionTransformer`` calls them."""
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] != "sklearn":
        return False
    try:
        value = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return False
    return isinstance(value, type) and value.__module__.split(".")[0] == "sklearn"
