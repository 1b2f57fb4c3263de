"""The interface every model flavour implements: a few primitives, the rest is derived.

A flavour writes a model's files into a folder (``save``), reads them back (``load``) and calls
the loaded object (``predict``). It names the extra that installs its libraries and the modules
whose versions a saved model records. Flavours import their libraries inside these methods, so
that ``import tether.models`` loads none of them.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from tether.errors import MissingDependency
from tether.models.files import ModelFiles


class Flavor(ABC):
    name: ClassVar[str]
    extra: ClassVar[str]
    """The ``pip install 'tether[extra]'`` that installs ``libraries``."""
    libraries: ClassVar[tuple[str, ...]]
    """Modules whose ``__version__`` a saved model records (and compares when loaded)."""

    @abstractmethod
    def save(self, model: Any, folder: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``model``'s files into the empty ``folder``; return the JSON options
        ``load`` needs (the names of the files, a class reference, ...)."""

    @abstractmethod
    def load(self, files: ModelFiles, options: Mapping[str, Any], *, trust: bool) -> Any:
        """Read the model back from the files ``save`` wrote. Runs no code from the files
        unless ``trust`` is true."""

    def predict(self, model: Any, inputs: Any) -> Any:
        return model.predict(inputs)

    def save_fast(self, model: Any, folder: Path, sample: Any) -> dict[str, Any]:
        """Write, next to the model's files, a stand-in that predicts without the model's
        library (checked against ``model`` on ``sample``); return the options that
        ``load_fast`` needs, or none where there is no such stand-in."""
        return {}

    def load_fast(self, files: ModelFiles, options: Mapping[str, Any]) -> Any | None:
        """The stand-in ``save_fast`` wrote (an object with ``predict``), or ``None``: then the
        model itself is loaded. It must build nothing the files name and run no code from them."""
        return None

    def require(self, module: str, what: str = "") -> Any:
        """Import one of this flavour's libraries, or say which extra installs it."""
        try:
            return importlib.import_module(module)
        except ImportError:
            what = what or f"the {self.name} model flavour"
            raise MissingDependency(what, self.extra, module.split(".")[0]) from None

    def versions(self, only: tuple[str, ...] | None = None) -> dict[str, str]:
        """Versions of this flavour's libraries (of ``only``, where given) installed now."""
        found = {}
        for module in self.libraries if only is None else only:
            try:
                found[module] = str(importlib.import_module(module).__version__)
            except (ImportError, AttributeError):
                continue
        return found
