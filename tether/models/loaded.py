"""``load_model``: a saved model folder back as a ``LoadedModel`` whose ``predict`` checks its
input against the signature."""

from __future__ import annotations

import os
import threading
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


_lazy_lock = threading.Lock()  # one estimator read at a time (rare: only where asked for)


class LoadedModel:
    """A loaded model: ``predict`` checks and converts its input, then calls the model.

    Where the flavour saved a stand-in that predicts without the model's library (a linear
    scikit-learn model's NumPy predictor), ``predict`` and ``predict_proba`` call it, and
    ``model`` loads the model itself the first time it is read, with the same checks as
    ``load_model``.
    """

    def __init__(
        self,
        meta: ModelMeta,
        model: Any,
        flavor: Flavor,
        files: ModelFiles,
        *,
        fast: Any = None,
        trust: bool = False,
    ) -> None:
        self.meta = meta
        self._model = model
        self._fast = fast
        self._trust = trust
        self._flavor = flavor
        self._files = files
        self.version: ModelVersion | None = None  # the registry's version, when loaded by ref

    @property
    def model(self) -> Any:
        """The model the flavour loads (read from its files on first use after a fast load)."""
        if self._model is None and self._fast is not None:
            with _lazy_lock:
                if self._model is None:
                    self._files.verify()  # the files may have changed since the load
                    _warn_versions(self.meta, self._flavor)
                    self._model = _load(self._files, self.meta, self._flavor, self._trust)
        return self._model

    @property
    def fast(self) -> bool:
        """Whether predictions come from a stand-in, not from the model's library."""
        return self._fast is not None

    @property
    def flavor(self) -> str:
        return self.meta.flavor

    @property
    def signature(self) -> Signature | None:
        return self.meta.signature

    def _runner(self) -> Any:
        fast = self.__dict__.get("_fast")
        return fast if fast is not None else self.model

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
            return self._flavor.predict(self._runner(), inputs)
        from tether.models.conform import conform

        return self.predict_conformed(conform(signature.inputs, inputs, strict=strict))

    def predict_conformed(self, inputs: Any) -> Any:
        """``predict`` on inputs already conformed to the signature (the server conforms each
        request as it comes, so a batch of them is not checked twice); the output is checked."""
        output = self._flavor.predict(self._runner(), inputs)
        signature = self.meta.signature
        if signature is not None and signature.outputs is not None:
            from tether.models.outputs import check_output, rows_of

            check_output(signature.outputs, output, rows_of(inputs))
        return output

    def __getattr__(self, name: str) -> Any:
        # predict_proba (and classes_) only where the model has them, so evaluation can tell
        if name not in ("predict_proba", "classes_") or "_flavor" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        runner = self._runner()
        if name == "predict_proba" and hasattr(runner, "predict_proba"):
            return self._predict_proba
        if name == "classes_" and hasattr(runner, "classes_"):  # the order of those columns
            return runner.classes_
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _predict_proba(self, inputs: Any, *, strict: bool = False) -> Any:
        """Class probabilities, with the input checked as for :meth:`predict`."""
        if self.meta.signature is not None:
            from tether.models.conform import conform

            inputs = conform(self.meta.signature.inputs, inputs, strict=strict)
        return self._runner().predict_proba(inputs)

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
    try:
        fast = flavor.load_fast(files, meta.options)
    except TetherError:
        raise
    except Exception as e:  # what the digest says is intact is not a stand-in it can read
        raise CorruptModel(
            folder, f"its fast predictor could not be read ({type(e).__name__}: {e})"
        ) from None
    if fast is not None:  # the model's library loads only if .model is read
        _warn_versions(meta, flavor, only=("numpy",))
        return LoadedModel(meta, None, flavor, files, fast=fast, trust=trust)
    _warn_versions(meta, flavor)
    return LoadedModel(meta, _load(files, meta, flavor, trust), flavor, files)


def _load(files: ModelFiles, meta: ModelMeta, flavor: Flavor, trust: bool) -> Any:
    try:
        return flavor.load(files, meta.options, trust=trust)
    except TetherError:
        raise
    except Exception as e:  # the library could not read what the digest says is intact
        raise CorruptModel(
            files.folder, f"{flavor.name} could not load it ({type(e).__name__}: {e})"
        ) from None


def _warn_versions(meta: ModelMeta, flavor: Flavor, only: tuple[str, ...] | None = None) -> None:
    """Warn for each library (of ``only``, where given) whose version differs from the saved."""
    now = flavor.versions(only)
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
