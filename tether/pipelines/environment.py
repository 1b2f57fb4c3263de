"""The environment part of a Python step's cache key: the interpreter, and the versions of the
distributions its code uses (not every installed package).

``source.step_code`` names the top-level modules outside the project that a step's code (and
the project code it reaches) refers to. Each is mapped to the installed distribution that
provides it, and that distribution's requirements are followed (scikit-learn brings NumPy and
SciPy), so installing or upgrading an unrelated package changes no step's key. Standard library
modules are covered by the interpreter version; a module no distribution provides is keyed by
its name only. Shell steps, whose imports cannot be seen, keep the digest of every package.
"""

from __future__ import annotations

import platform
import re
import sys
import threading
from collections.abc import Iterable

_lock = threading.Lock()
_providers: dict[tuple[str, ...], dict[str, list[str]]] = {}
_closure: dict[tuple[tuple[str, ...], frozenset[str]], str] = {}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def interpreter() -> str:
    return f"{platform.python_version()}|{sys.implementation.name}"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_providers() -> dict[str, list[str]]:
    import importlib.metadata

    key = tuple(sys.path)
    with _lock:
        found = _providers.get(key)
    if found is None:
        found = {k: sorted(set(v)) for k, v in importlib.metadata.packages_distributions().items()}
        with _lock:
            _providers[key] = found
    return found


def _providers_of(module: str) -> list[str]:
    """The distributions that install ``module``: its own name first (``numpy``), else the
    full table (``sklearn`` is scikit-learn), read once per process and only when needed."""
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution(module)
    except importlib.metadata.PackageNotFoundError:
        return _module_providers().get(module, [])
    files = dist.files or []
    top = {f.parts[0].removesuffix(".py") for f in files if f.parts}
    if module in top:
        return [dist.metadata["Name"] or module]
    return _module_providers().get(module, [])


def _requirements(dist: str) -> list[str]:
    import importlib.metadata

    try:
        reqs = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    out = []
    for req in reqs:
        if "extra" in req.partition(";")[2]:
            continue  # optional extras are not installed because this one is
        match = _NAME.match(req)
        if match:
            out.append(match.group(1))
    return out


def _version(dist: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def distributions(modules: Iterable[str]) -> dict[str, str]:
    """``{distribution: version}`` for the modules and everything they require, installed."""
    versions: dict[str, str] = {}
    pending: list[str] = []
    for module in sorted(set(modules)):
        if module in sys.stdlib_module_names or module == "builtins":
            continue
        dists = _providers_of(module)
        if not dists:
            versions[f"module:{module}"] = "unversioned"
            continue
        pending.extend(dists)
    while pending:
        dist = pending.pop()
        name = _normal(dist)
        if name in versions:
            continue
        version = _version(dist)
        if version is None:
            continue  # a requirement that is not installed (platform marker)
        versions[name] = version
        pending.extend(_requirements(dist))
    return versions


def step_environment(modules: frozenset[str]) -> str:
    """Interpreter and ``name==version`` of the distributions ``modules`` need, as one text."""
    key = (tuple(sys.path), modules)
    with _lock:
        hit = _closure.get(key)
    if hit is not None:
        return hit
    pairs = distributions(modules)
    text = interpreter() + "|" + ",".join(f"{n}=={v}" for n, v in sorted(pairs.items()))
    with _lock:
        _closure[key] = text
    return text
