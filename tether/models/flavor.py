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

    def require(self, module: str, what: str = "") -> Any:
        """Import one of this flavour's libraries, or say which extra installs it."""
        try:
            return importlib.import_module(module)
        except ImportError:
            what = what or f"the {self.name} model flavour"
            raise MissingDependency(what, self.extra, module.split(".")[0]) from None

    def versions(self) -> dict[str, str]:
        """Versions of this flavour's libraries that are installed now."""
        found = {}
        for module in self.libraries:
            try:
                found[module] = str(importlib.import_module(module).__version__)
            except (ImportError, AttributeError):
                continue
        return found
