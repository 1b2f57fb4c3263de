"""The code a step runs, as a digest: its source and the source of the project's own code it uses.

Starting from the step function, every name its code (and nested code: comprehensions, inner
functions) refers to is looked up in its globals and closure. Functions, classes and the members
of modules defined in *project files* are followed recursively (cycle-safe); anything else
(builtins, the standard library, installed packages) is left out: their versions are covered
by the environment digest. A project file is a ``.py`` file under one of the given roots (the
workspace and the step's own folder) and not under a ``site-packages`` folder.
"""

from __future__ import annotations

import inspect
import marshal
import sys
import threading
import types
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_memo: dict[tuple[int, tuple[str, ...]], tuple[Any, str]] = {}
_EXCLUDED_PARTS = frozenset({"site-packages", "dist-packages"})


def _file_of(obj: Any) -> str | None:
    try:
        f = inspect.getsourcefile(obj)
    except (TypeError, OSError):
        return None
    return f


def _is_project_file(path: str | None, roots: tuple[str, ...]) -> bool:
    if not path or not path.endswith(".py"):
        return False
    p = Path(path).resolve()
    if _EXCLUDED_PARTS.intersection(p.parts):
        return False
    for prefix in {sys.prefix, sys.base_prefix}:
        if str(p).startswith(str(Path(prefix).resolve()) + "/"):
            return False
    return any(str(p).startswith(r.rstrip("/") + "/") for r in roots)


def _names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    yield from code.co_freevars
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        if code is not None:
            return marshal.dumps(code).hex()
        return repr(obj)


def _unwrap(obj: Any) -> Any:
    """A ``@step`` (or any wrapper exposing ``__wrapped__``) stands for the function inside."""
    seen = 0
    while hasattr(obj, "__wrapped__") and seen < 8 and not isinstance(obj, type):
        obj = obj.__wrapped__
        seen += 1
    return obj


def _references(fn: types.FunctionType) -> Iterable[Any]:
    g = fn.__globals__
    for name in set(_names(fn.__code__)):
        if name in g:
            yield g[name]
    for cell in fn.__closure__ or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue


def code_digest(fn: Any, roots: Iterable[str | Path]) -> str:
    """Digest of ``fn``'s source and of the project code it reaches."""
    fn = _unwrap(fn)
    root_key = tuple(sorted(str(Path(r).resolve()) for r in roots))
    key = (id(fn), root_key)
    with _lock:
        hit = _memo.get(key)
    if hit is not None and hit[0] is fn:
        return hit[1]
    parts: list[tuple[str, str]] = []
    seen: set[int] = set()
    stack: list[Any] = [fn]
    first = True
    while stack:
        obj = _unwrap(stack.pop())
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, types.ModuleType):
            continue  # modules are followed through the attributes used, below
        if not first and not _is_project_file(_file_of(obj), root_key):
            continue
        first = False
        # the module's name is left out: one file imported under two names is the same code
        parts.append((str(getattr(obj, "__qualname__", "?")), _source(obj)))
        functions: list[types.FunctionType] = []
        if isinstance(obj, types.FunctionType):
            functions.append(obj)
        elif isinstance(obj, type):
            functions.extend(v for v in vars(obj).values() if isinstance(v, types.FunctionType))
        for f in functions:
            names = set(_names(f.__code__))
            for ref in _references(f):
                if isinstance(ref, types.ModuleType):
                    if _is_project_file(getattr(ref, "__file__", None), root_key):
                        stack.extend(getattr(ref, n) for n in names if hasattr(ref, n))
                elif isinstance(ref, types.FunctionType | type) or hasattr(ref, "__wrapped__"):
                    stack.append(ref)
    text = "\n".join(f"# {name}\n{source}" for name, source in sorted(parts))
    digest = _hash(text.encode("utf-8"))
    with _lock:
        _memo[key] = (fn, digest)
    return digest


def files_digest(paths: Iterable[Path]) -> str:
    """Digest of named files' contents (folders: every file inside), for shell steps' code."""
    chunks: list[str] = []
    for p in sorted(set(paths)):
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            chunks.append(f"{f.as_posix()}:{_hash(f.read_bytes())}")
    return _hash("\n".join(chunks).encode("utf-8"))


def _hash(data: bytes) -> str:
    from tether.objects.digest import hash_bytes

    return hash_bytes(data)
