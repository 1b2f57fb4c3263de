"""References to model code by import path (``package.module:Class``), never the code itself:
loading imports the class from the project's installed code."""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

from tether.models.errors import CodeNotFound, UnsupportedModel

_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def code_ref(cls: type) -> str:
    module, qualname = cls.__module__, cls.__qualname__
    if module == "__main__" or "<locals>" in qualname:
        raise UnsupportedModel(
            f"{qualname} is defined in {'a function' if '<locals>' in qualname else '__main__'}, "
            "so it cannot be imported when the model is loaded: define it at the top level of "
            "an importable module of your project"
        )
    return f"{module}:{qualname}"


def import_ref(ref: object) -> type[Any]:
    if not isinstance(ref, str) or _REF.fullmatch(ref) is None:
        raise CodeNotFound(f"model code reference {ref!r} is not 'package.module:Class'")
    module, _, qualname = ref.partition(":")
    if module.split(".")[0] in sys.stdlib_module_names:
        # no model class lives there, and some of its modules act when imported (antigravity)
        raise CodeNotFound(f"model code reference {ref} names a standard-library module")
    try:
        value: Any = importlib.import_module(module)
        for part in qualname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as e:
        raise CodeNotFound(
            f"cannot import the model's code {ref} ({type(e).__name__}: {e}); load the model "
            "where that code is importable (your project on sys.path, at the commit that "
            "saved it)"
        ) from None
    if not isinstance(value, type):
        raise CodeNotFound(
            f"model code reference {ref} names a {type(value).__name__}, not a class"
        )
    return value
