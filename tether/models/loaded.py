"""``load_model``: a saved model folder back as a ``LoadedModel`` whose ``predict`` checks its
input against the signature."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.errors import TetherError
from tether.models.errors import CorruptModel, LibraryVersionWarning
from tether.models.files import ModelFiles
from tether.models.flavor import Flavor
from tether.models.manifest import MANIFEST, ModelMeta, read_manifest
from tether.models.registry import get_flavor
from tether.models.signature import Signature

if TYPE_CHECKING:
    from tether.store import ModelVersion


class LoadedModel:
    """A loaded model: ``predict`` checks and converts its input, then calls the model."""

    def __init__(self, meta: ModelMeta, model: Any, flavor: Flavor, files: ModelFiles) -> None:
        self.meta = meta
        self.model = model
        self._flavor = flavor
        self._files = files
        self.version: ModelVersion | None = None  # the registry's version, when loaded by ref

    @property
    def flavor(self) -> str:
        return self.meta.flavor

    @property
    def signature(self) -> Signature | None:
        return self.meta.signature

    def predict(self, inputs: Any, *, strict: bool = False) -> Any:
        """Predict on ``inputs`` (the same kinds of value as the sample).

        An input that does not match the signature raises a ``SignatureError`` naming the column;
        a value a text or category column never had in the sample warns
        (``UnseenCategoryWarning``), or raises ``UnseenCategory`` when ``strict``. An output
        that does not match the output schema (another kind of value, columns, dtype family,
        shape, or not one row per input row) raises ``OutputMismatch``.
        """
        signature = self.meta.signature
        if signature is None:
            return self._flavor.predict(self.model, inputs)
        from tether.models.conform import conform

        inputs = conform(signature.inputs, inputs, strict=strict)
        output = self._flavor.predict(self.model, inputs)
        if signature.outputs is not None:
            from tether.models.outputs import check_output, rows_of

            check_output(signature.outputs, output, rows_of(inputs))
        return output

    def __getattr__(self, name: str) -> Any:
        # predict_proba (and classes_) only where the model has them, so evaluation can tell
        model: Any = self.__dict__.get("model")
        if name == "predict_proba" and hasattr(model, "predict_proba"):
            return self._predict_proba
        if name == "classes_" and hasattr(model, "classes_"):  # the order of those columns
            return model.classes_
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _predict_proba(self, inputs: Any, *, strict: bool = False) -> Any:
        """Class probabilities, with the input checked as for :meth:`predict`."""
        if self.meta.signature is not None:
            from tether.models.conform import conform

            inputs = conform(self.meta.signature.inputs, inputs, strict=strict)
        return self.model.predict_proba(inputs)

    def input_example(self) -> Any:
        """The first rows of the sample the model was saved with (``None`` without one)."""
        if self.meta.example is None or self.meta.signature is None:
            return None
        from tether.models.example import read_example

        return read_example(self.meta.signature.inputs.kind, self._files.path(self.meta.example))

    def __repr__(self) -> str:
        return f"LoadedModel(flavor={self.flavor!r}, folder={str(self._files.folder)!r})"


def load_model(path: str | os.PathLike[str], *, trust: bool = False) -> LoadedModel:
    """Load the model that ``save_model`` wrote into ``path``.

    Every file is checked against the digest in the manifest first. Nothing is unpickled
    and no type outside a flavour's known-safe set is built unless ``trust`` is true.
    """
    folder = Path(path)
    meta = read_manifest(folder)
    files = ModelFiles(folder, meta.files, folder / MANIFEST)
    files.verify()
    flavor = get_flavor(meta.flavor)
    _warn_versions(meta, flavor)
    try:
        model = flavor.load(files, meta.options, trust=trust)
    except TetherError:
        raise
    except Exception as e:  # the library could not read what the digest says is intact
        raise CorruptModel(
            folder, f"{flavor.name} could not load it ({type(e).__name__}: {e})"
        ) from None
    return LoadedModel(meta, model, flavor, files)


def _warn_versions(meta: ModelMeta, flavor: Flavor) -> None:
    now = flavor.versions()
    for module, saved in sorted(meta.libraries.items()):
        current = now.get(module)
        # the local label (+cpu, +cu121) names a build, not another release
        if current is not None and current.split("+")[0] != saved.split("+")[0]:
            warnings.warn(
                f"the model was saved with {module} {saved} and is loaded with {current}; "
                "predictions may differ: install the same version or save the model again",
                LibraryVersionWarning,
                stacklevel=3,
            )
