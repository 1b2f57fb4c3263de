"""``skops.io`` without its import-time survey of scikit-learn.

``import skops.io`` calls ``sklearn.utils.all_estimators()``, which imports every module of
scikit-learn (and PyTorch through scikit-learn's array-API shim where PyTorch is installed) to
list the estimator classes that skops trusts by default: about 0.2 s without PyTorch, 3 s and
240 MB with it, in every fresh process that loads a model. Tether's loader does not need that
list: it trusts every class scikit-learn defines (``_sklearn_class`` in ``flavors/sklearn.py``,
a superset of the list) and skops still audits every type the file names. The import then
names every NumPy and SciPy ufunc by searching all loaded modules for each; during the import
that search reads module dictionaries where ``getattr`` would read the same (same answers).

``skops_io()`` imports ``skops.io`` while ``all_estimators`` answers an empty list, then puts in
the list's place one that surveys scikit-learn the first time anything reads it, except inside
``tether_checks()``, where Tether's own allow-list decides. Code that reads skops' defaults outside
(a user's ``skops.io.load(path)``, the pipelines' materializer) gets exactly the list skops would
have made. Where skops was imported already, or its layout is not the one this expects, the
module is used (or imported) as it is: slower, never less strict.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import sys
import threading
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

_checking: contextvars.ContextVar[bool] = contextvars.ContextVar("tether_skops", default=False)
_import_lock = threading.Lock()


@contextlib.contextmanager
def tether_checks() -> Iterator[None]:
    """Within this block skops' default trust leaves out the estimator survey: the caller
    checks every type ``get_untrusted_types`` reports against its own allow-list."""
    token = _checking.set(True)
    try:
        yield
    finally:
        _checking.reset(token)


class _SurveyedOnUse(list[str]):
    """skops' ``SKLEARN_ESTIMATOR_TYPE_NAMES``, surveyed the first time it is read outside
    ``tether_checks()``. skops reads it as ``LIST + OTHER`` when it builds an object's node."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._done = False

    def _fill(self) -> None:
        if self._done or _checking.get():
            return
        with self._lock:
            if self._done:
                return
            from sklearn.utils import all_estimators
            from skops.io._utils import get_type_name

            names = (get_type_name(cls) for _, cls in all_estimators())
            super().extend(n for n in names if n.startswith("sklearn."))
            self._done = True

    def __add__(self, other: Any) -> Any:
        self._fill()
        return list(self) + list(other)

    def __iter__(self) -> Iterator[str]:
        self._fill()
        return super().__iter__()

    def __contains__(self, item: object) -> bool:
        self._fill()
        return super().__contains__(item)

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def __getitem__(self, index: Any) -> Any:
        self._fill()
        return super().__getitem__(index)

    def __repr__(self) -> str:
        self._fill()
        return super().__repr__()


def skops_io() -> ModuleType:
    """``skops.io``, imported without surveying scikit-learn where it was not imported yet."""
    module = sys.modules.get("skops.io")
    if module is not None:
        return module
    with _import_lock:
        module = sys.modules.get("skops.io")
        if module is not None:
            return module
        import sklearn.utils

        survey = getattr(sklearn.utils, "all_estimators", None)
        if survey is None or "skops.io._trusted_types" in sys.modules:
            return importlib.import_module("skops.io")
        sklearn.utils.all_estimators = _nothing_listed  # read once, by skops' import below
        try:
            module = importlib.import_module("skops.io")
        finally:
            sklearn.utils.all_estimators = survey
            _restore_whichmodule()
        _survey_on_use()
        return module


_found_in: dict[str, Any] = {}  # skops' own whichmodule, while the import uses the quick one


def _nothing_listed(type_filter: Any = None) -> list[tuple[str, type]]:
    """Stands in for ``all_estimators`` during skops' import. skops calls it just before it
    names every NumPy and SciPy ufunc, so this is also where the quick ``whichmodule`` goes."""
    utils = sys.modules.get("skops.io._utils")
    original = getattr(utils, "whichmodule", None)
    if utils is not None and original is not None and "whichmodule" not in _found_in:
        _found_in["whichmodule"] = original
        setattr(utils, "whichmodule", _quick_whichmodule)  # noqa: B010
    return []


def _restore_whichmodule() -> None:
    original = _found_in.pop("whichmodule", None)
    utils = sys.modules.get("skops.io._utils")
    if original is not None and utils is not None:
        setattr(utils, "whichmodule", original)  # noqa: B010


def _quick_whichmodule(obj: Any, name: str) -> str:
    """skops' ``whichmodule`` with the same answer, faster: an object without ``__module__``
    (a ufunc) is looked for in every loaded module, in import order, and the first that holds
    it names it. ``getattr(module, name)`` on a plain module without a module ``__getattr__``
    is a lookup in its ``__dict__``, so that is what is done there (a third of a second less
    in a process with 2,000 modules); any other module gets ``getattr`` as skops does."""
    module_name = getattr(obj, "__module__", None)
    if module_name is not None:
        return str(module_name)
    original = _found_in.get("whichmodule")
    if original is not None and ("." in name or name.startswith("__")):
        return str(original(obj, name))  # dotted or dunder names: skops' own search
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module_name, module in sys.modules.copy().items():
            if module_name in ("__main__", "__mp_main__") or module is None:
                continue
            namespace = module.__dict__ if type(module) is ModuleType else None
            if namespace is not None and "__getattr__" not in namespace:
                found = namespace.get(name)
            else:
                try:
                    found = getattr(module, name, None)
                except (AttributeError, ImportError):
                    continue
            if found is obj:
                return str(module_name)
    return "__main__"


def _survey_on_use() -> None:
    """Replace the empty list skops made with one that surveys on first use (outside
    ``tether_checks``). Every module that bound the list gets the new one."""
    lazy = _SurveyedOnUse()
    for name in ("skops.io._trusted_types", "skops.io._general"):
        mod = sys.modules.get(name)
        if mod is not None and isinstance(getattr(mod, "SKLEARN_ESTIMATOR_TYPE_NAMES", None), list):
            mod.SKLEARN_ESTIMATOR_TYPE_NAMES = lazy  # type: ignore[attr-defined]
