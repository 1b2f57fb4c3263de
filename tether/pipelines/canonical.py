"""Canonical encodings for cache keys: one value, one text, in every process and on every run.

``encode`` turns a param into canonical JSON data or raises :class:`NotEncodable` naming where
it failed (there is no ``repr`` fallback: a ``repr`` may hold a memory address, so a key built on
it would never match again, or it may hide a difference, so a stale result would be served).

``value_text`` is what the code digest (``source.py``) records for a value a step's code can
read (a module constant, a closure cell, a default argument, a class attribute). It accepts more
than params do: NumPy arrays by their bytes, functions and classes of installed packages by their
import path (their version is in the environment part of the key), instances of project classes
by their attributes. A value with no faithful encoding at all is recorded by its type only; such
a value changing does not re-run the step (docs/pipelines.md lists the cases).
"""

from __future__ import annotations

import enum
import json
import math
import types
from pathlib import PurePath
from typing import Any

from tether.data.dataset_ref import DatasetRef
from tether.pipelines.errors import NotEncodable

MAX_DEPTH = 64


def encode(value: Any, where: str = "value", depth: int = 0) -> Any:
    """Canonical JSON data for ``value``; tuples, sets, non-string keys and paths are tagged."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if depth > MAX_DEPTH:
        raise NotEncodable(where, value)
    if isinstance(value, DatasetRef):
        return {"$dataset": value.ref}
    if isinstance(value, list):
        return [encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]}
    if isinstance(value, set | frozenset):
        items = [encode(v, f"{where} item", depth + 1) for v in value]
        return {"$set": sorted(items, key=_sort_text)}
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            return {
                ("$" + k if k.startswith("$") else k): encode(v, f"{where}[{k!r}]", depth + 1)
                for k, v in value.items()
            }
        pairs = [
            [encode(k, f"{where} key", depth + 1), encode(v, f"{where}[{k!r}]", depth + 1)]
            for k, v in value.items()
        ]
        return {"$dict": sorted(pairs, key=lambda p: _sort_text(p[0]))}
    if isinstance(value, PurePath):
        return {"$path": value.as_posix()}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, enum.Enum):
        return {"$enum": f"{_qualname(type(value))}.{value.name}"}
    if isinstance(value, complex):
        return {"$complex": [repr(value.real), repr(value.imag)]}
    raise NotEncodable(where, value)


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _sort_text(data: Any) -> str:
    return dumps(data)


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', '?')}"


def value_text(
    value: Any, *, is_project: Any = None, depth: int = 0, within: frozenset[int] = frozenset()
) -> str:
    """Text standing for a value the step's code may read (see the module docstring).

    ``is_project(obj)`` says whether a class is project code; its instances are then recorded
    by their attributes.
    """
    try:
        return dumps(encode(value))
    except (NotEncodable, ValueError, TypeError, RecursionError):
        pass  # no faithful encoding: describe it by what it is, below
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType | type):
        return f"object {_qualname(value)}"
    array = _array_text(value)
    if array is not None:
        return array
    if id(value) in within:
        return "cycle"
    within = within | {id(value)}
    if depth < 8 and isinstance(value, list | tuple | dict | set | frozenset):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        inner = [
            f"{value_text(k, is_project=is_project, depth=depth + 1, within=within)}="
            f"{value_text(v, is_project=is_project, depth=depth + 1, within=within)}"
            for k, v in items
        ]
        if isinstance(value, set | frozenset):
            inner.sort()
        return f"{type(value).__name__}({', '.join(inner)})"
    cls = type(value)
    attrs = getattr(value, "__dict__", None)
    if depth < 8 and is_project is not None and is_project(cls) and isinstance(attrs, dict):
        inner = [
            f"{k}={value_text(v, is_project=is_project, depth=depth + 1, within=within)}"
            for k, v in sorted(attrs.items())
        ]
        return f"instance {_qualname(cls)}({', '.join(inner)})"
    text = repr(value) if type(value).__repr__ is not object.__repr__ else ""
    if text and " at 0x" not in text and len(text) < 100_000:
        return f"repr {_qualname(cls)} {text}"
    return f"opaque {_qualname(cls)}"


def _array_text(value: Any) -> str | None:
    """NumPy arrays (and anything exposing the same three attributes) by dtype, shape, bytes."""
    if not all(hasattr(value, a) for a in ("dtype", "shape", "tobytes")):
        return None
    try:
        from tether.objects.digest import hash_bytes

        if str(value.dtype) == "object":
            return None
        return f"array {value.dtype} {tuple(value.shape)} {hash_bytes(value.tobytes())}"
    except Exception:  # a look-alike whose tobytes fails: not an array after all
        return None
