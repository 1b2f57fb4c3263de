"""Finding step and pipeline functions by module path or file, in any process."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tether.pipelines.errors import NotImportable
from tether.pipelines.task import FunctionRef


def _same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def load_file(path: str | os.PathLike[str], module_name: str | None = None) -> ModuleType:
    """Import a Python file as a module (its folder goes first on ``sys.path``, like a script)."""
    file = Path(path).resolve()
    if not file.is_file():
        raise NotImportable(f"pipeline file {file} does not exist")
    name = module_name or file.stem
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise NotImportable(f"cannot import {file}; is it a .py file?")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise
    return module


def import_module_of(ref: FunctionRef) -> ModuleType:
    """The module of ``ref``: imported by name when that finds the same file, else from file."""
    if ref.module != "__main__":
        module = sys.modules.get(ref.module)
        if module is not None and (ref.file is None or _same_file(module.__file__, ref.file)):
            return module
        try:
            module = importlib.import_module(ref.module)
            if ref.file is None or _same_file(module.__file__, ref.file):
                return module
        except ImportError:
            if ref.file is None:
                raise NotImportable(
                    f"cannot import module {ref.module!r} of step {ref.qualname!r}"
                ) from None
    if ref.file is None:
        raise NotImportable(
            f"step {ref.qualname!r} is defined in a module without a file (a notebook or the "
            "interactive prompt); run it with executor='inline' or move it into a .py file"
        )
    name = "__tether_main__" if ref.module == "__main__" else ref.module
    return load_file(ref.file, name)


def resolve(ref: FunctionRef) -> Any:
    """The object ``ref`` names (a ``@step`` object or a plain function)."""
    if "<locals>" in ref.qualname:
        raise NotImportable(
            f"step {ref.qualname!r} is defined inside a function; the process executor imports "
            "steps by module path, so define it at module level (or use executor='inline')"
        )
    obj: Any = import_module_of(ref)
    for part in ref.qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise NotImportable(f"{ref} not found; was it renamed or removed?") from None
    return obj


def resolve_function(ref: FunctionRef) -> Any:
    obj = resolve(ref)
    return getattr(obj, "fn", obj)
