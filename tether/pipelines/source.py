"""The code a step runs, as a digest: its source, the values it can read, and the project code
it uses, transitively.

Starting from the step function, every name its code (and nested code: comprehensions, inner
functions, lambdas) refers to is looked up in its globals and closure; a project module's
attributes are followed through the names used on it. What is found is recorded as follows:

- functions, classes and methods defined in *project files* by their source, and followed;
- the *values* the code can read, by a canonical text (``canonical.value_text``): module
  globals and constants, closure cells, default arguments (``def f(lr=LR)``), class
  attributes, and the closures of decorators wrapped around the step (``@scale(FACTOR)``);
  instances of project classes by their attributes, and their class is followed;
- anything else from outside the project (builtins, the standard library, installed packages)
  by its import path only: their versions are in the environment part of the cache key.

A project file is a ``.py`` file under one of the given roots (the workspace and the step's own
folder) and not under ``site-packages`` or the interpreter's prefix.

The walk is done once per function and process (its *plan*); each digest re-reads the values
the plan names, so a module constant changed in a long-lived process (a notebook) changes the
key too, and a name rebound to another function makes the plan be walked again.
"""

from __future__ import annotations

import inspect
import marshal
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.pipelines.canonical import value_text

_lock = threading.Lock()
_EXCLUDED_PARTS = frozenset({"site-packages", "dist-packages"})
_NOT_FOLLOWED = object()
_MISSING = object()


def _file_of(obj: Any) -> str | None:
    try:
        return inspect.getsourcefile(obj)
    except (TypeError, OSError):
        return None


_prefixes: tuple[str, ...] | None = None


def _is_project_file(path: str | None, roots: tuple[str, ...]) -> bool:
    global _prefixes
    if not path or not path.endswith(".py"):
        return False
    p = Path(path).resolve()
    if _EXCLUDED_PARTS.intersection(p.parts):
        return False
    if _prefixes is None:
        _prefixes = tuple({str(Path(x).resolve()) + "/" for x in (sys.prefix, sys.base_prefix)})
    text = str(p)
    if text.startswith(_prefixes):
        return False
    return any(text.startswith(r.rstrip("/") + "/") for r in roots)


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


@dataclass
class _Slot:
    """A place the step's code reads a value from: re-read at each digest."""

    label: str
    read: Callable[[], Any]
    followed: Any = _NOT_FOLLOWED  # the function or class the plan walked from here
    external: bool = False  # followed, but from outside the project: keyed by import path


@dataclass
class _Plan:
    fn: Any
    static: str  # the sources, sorted
    slots: list[_Slot] = field(default_factory=list)
    modules: frozenset[str] = frozenset()
    is_project: Callable[[Any], bool] = lambda cls: False


_memo: dict[tuple[int, tuple[str, ...]], _Plan] = {}


def _callable_like(value: Any) -> bool:
    return isinstance(value, types.FunctionType | type) or hasattr(value, "__wrapped__")


def _global_reader(namespace: dict[str, Any], name: str) -> Callable[[], Any]:
    return lambda: namespace.get(name, _MISSING)


def _cell_reader(cell: Any) -> Callable[[], Any]:
    def read() -> Any:
        try:
            return cell.cell_contents
        except ValueError:  # an empty cell
            return _MISSING

    return read


def _defaults_reader(fn: types.FunctionType) -> Callable[[], Any]:
    return lambda: (fn.__defaults__, fn.__kwdefaults__)


class _Walker:
    def __init__(self, roots: tuple[str, ...]) -> None:
        self.roots = roots
        self.parts: list[tuple[str, str]] = []
        self.slots: list[_Slot] = []
        self.seen: set[int] = set()
        self.stack: list[Any] = []
        self.modules: set[str] = set()  # top-level modules outside the project that are used

    def _uses(self, module: Any) -> None:
        if isinstance(module, str) and module:
            self.modules.add(module.partition(".")[0])

    def is_project(self, obj: Any) -> bool:
        if isinstance(obj, types.ModuleType):
            return _is_project_file(getattr(obj, "__file__", None), self.roots)
        return _is_project_file(_file_of(obj), self.roots)

    def walk(self, fn: Any) -> None:
        self.stack.append(fn)
        first = True
        while self.stack:
            obj = self.stack.pop()
            if id(obj) in self.seen:
                continue
            self.seen.add(id(obj))
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is not None and not isinstance(obj, type):
                self.stack.append(wrapped)  # a decorator's wrapper: the wrapped function too
            if isinstance(obj, types.FunctionType | type):
                if not first and not self.is_project(obj):
                    self._uses(getattr(obj, "__module__", None))
                    continue
                # the module's name is left out: one file imported under two names is the same
                self.parts.append((str(getattr(obj, "__qualname__", "?")), _source(obj)))
                if isinstance(obj, type):
                    self._class(obj)
                else:
                    self._function(obj)
            first = False

    def _value(self, label: str, read: Callable[[], Any]) -> None:
        value = read()
        if _callable_like(value):
            external = isinstance(value, types.FunctionType | type) and not self.is_project(value)
            self.slots.append(_Slot(label, read, value, external))
            self.stack.append(value)
            return
        self.slots.append(_Slot(label, read))
        cls = type(value)
        if isinstance(value, types.ModuleType):
            return
        if self.is_project(cls):
            self.stack.append(cls)  # an instance of a project class: its code too
        else:
            self._uses(cls.__module__)

    def _function(self, fn: types.FunctionType) -> None:
        owner = fn.__qualname__
        names = set(_names(fn.__code__))
        g = fn.__globals__
        for name in sorted(names):
            if name not in g or (name.startswith("__") and name.endswith("__")):
                continue  # module dunders (__name__, __file__) name the module, not code
            value = g[name]
            if isinstance(value, types.ModuleType):
                if self.is_project(value):
                    attrs = vars(value)
                    for attr in sorted(names):
                        if attr in attrs:
                            self._value(f"{owner}: {name}.{attr}", _global_reader(attrs, attr))
                else:
                    self._uses(value.__name__)
                continue
            self._value(f"{owner}: global {name}", _global_reader(g, name))
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            self._value(f"{owner}: closure {var}", _cell_reader(cell))
        if fn.__defaults__ or fn.__kwdefaults__:
            self._value(f"{owner}: defaults", _defaults_reader(fn))

    def _class(self, cls: type) -> None:
        owner = cls.__qualname__
        for base in cls.__mro__[1:]:
            if self.is_project(base):
                self.stack.append(base)
        attrs = vars(cls)
        for name in sorted(attrs):
            if name.startswith("__") and name.endswith("__"):
                continue
            value = attrs[name]
            if isinstance(value, staticmethod | classmethod):
                self.stack.append(value.__func__)
            elif isinstance(value, property):
                self.stack.extend(f for f in (value.fget, value.fset, value.fdel) if f)
            elif isinstance(value, types.FunctionType):
                self.stack.append(value)
            else:
                self._value(f"{owner}: attribute {name}", _global_reader(attrs, name))  # type: ignore[arg-type]


def _plan(fn: Any, roots: tuple[str, ...]) -> _Plan:
    walker = _Walker(roots)
    walker.walk(fn)
    static = "\n".join(f"# {name}\n{source}" for name, source in sorted(walker.parts))
    modules = frozenset(walker.modules - {"builtins", "__main__"})
    return _Plan(fn, static, walker.slots, modules, walker.is_project)


def _current(plan: _Plan) -> list[str] | None:
    """The slots' values as text, or None when a followed name now holds something else."""
    out = []
    for slot in plan.slots:
        value = slot.read()
        if slot.followed is not _NOT_FOLLOWED:
            if value is not slot.followed:
                return None
            if slot.external:  # its source is not in the plan: which one it is, then
                out.append(f"{slot.label} = {value_text(value)}")
            continue
        if _callable_like(value):
            return None
        text = "missing" if value is _MISSING else value_text(value, is_project=plan.is_project)
        out.append(f"{slot.label} = {text}")
    return out


def code_digest(fn: Any, roots: Iterable[str | Path]) -> str:
    """Digest of ``fn``'s source, the values its code reads, and the project code it reaches."""
    return step_code(fn, roots)[0]


def step_code(fn: Any, roots: Iterable[str | Path]) -> tuple[str, frozenset[str]]:
    """``code_digest``, and the top-level modules outside the project that the code uses."""
    root_key = tuple(sorted(str(Path(r).resolve()) for r in roots))
    key = (id(fn), root_key)
    with _lock:
        plan = _memo.get(key)
    if plan is None or plan.fn is not fn:
        plan = _plan(fn, root_key)
    values = _current(plan)
    if values is None:
        plan = _plan(fn, root_key)
        values = _current(plan) or []
    with _lock:
        _memo[key] = plan
    text = plan.static + "\n# values\n" + "\n".join(sorted(values))
    return _hash(text.encode("utf-8")), plan.modules


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
