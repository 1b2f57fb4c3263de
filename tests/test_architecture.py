"""Rules of docs/architecture.md that no other test checks: who writes the metadata store in
pipelines, who reads ``TETHER_*``, where errors are defined, and that the docs name only files
that exist in the repository."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import tether
from tether.errors import TetherError
from tether.store.base import Store

PACKAGE = Path(tether.__file__).parent
REPO = PACKAGE.parent


def _trees(folder: Path) -> dict[Path, ast.AST]:
    return {p: ast.parse(p.read_text(), str(p)) for p in sorted(folder.rglob("*.py"))}


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# --- the writers of the metadata store in pipelines


def _store_writes() -> set[str]:
    """The methods of the Store interface that write."""
    readers = ("get_", "list_", "search_", "find_", "resolve_")
    return {
        name
        for name, _ in inspect.getmembers(Store, inspect.isfunction)
        if not name.startswith(("_", *readers)) and name not in ("close", "flush")
    }


def test_pipelines_write_the_metadata_store_only_in_record() -> None:
    """``record.py`` is the one module of tether.pipelines that writes the store (the calling
    process); workers and executors write only objects."""
    writes = _store_writes()
    assert {"create_run", "finish_run", "record_objects", "update_run_info"} <= writes
    found = []
    for path, tree in _trees(PACKAGE / "pipelines").items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = ast.unparse(node.func.value)
            if node.func.attr in writes and re.search(r"\bstore\b", receiver):
                found.append(f"{_rel(path)}:{node.lineno} {ast.unparse(node.func)}")
    elsewhere = [f for f in found if not f.startswith("tether/pipelines/record.py:")]
    assert found, "the check no longer sees record.py's writes"
    assert not elsewhere, "store writes outside pipelines/record.py:\n" + "\n".join(elsewhere)


# --- the one reader of TETHER_* variables

READS_ALLOWED = {
    # exports the root flags (--store-url, ...) as TETHER_* while a command runs, and reads the
    # value it overwrites only to put it back afterwards
    "tether/cli/context.py",
}


def _env_key_reads(tree: ast.AST) -> list[tuple[int, ast.expr]]:
    """(line, key) of each read of one environment variable: ``os.environ[k]``,
    ``os.environ.get(k)``, ``os.getenv(k)``, ``k in os.environ``."""

    def is_environ(e: ast.expr) -> bool:
        return ast.unparse(e) in ("os.environ", "environ")

    reads: list[tuple[int, ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if is_environ(node.value):
                reads.append((node.lineno, node.slice))
        elif isinstance(node, ast.Call) and node.args:
            name = ast.unparse(node.func)
            if name in ("os.getenv", "getenv") or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "pop", "setdefault")
                and is_environ(node.func.value)
            ):
                reads.append((node.lineno, node.args[0]))
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            reads.append((node.lineno, node.left))
    return reads


def test_only_settings_reads_tether_variables() -> None:
    """tether/config/settings.py is the only reader of ``TETHER_*``: a read of a TETHER_ name,
    or of a name the code cannot show, anywhere else is a second source of settings. (Copying
    the whole environment for a child process reads no setting.)"""
    found = []
    for path, tree in _trees(PACKAGE).items():
        rel = _rel(path)
        if rel == "tether/config/settings.py":
            continue
        for line, key in _env_key_reads(tree):
            literal = isinstance(key, ast.Constant) and isinstance(key.value, str)
            if (literal and key.value.startswith("TETHER_")) or (
                not literal and rel not in READS_ALLOWED
            ):
                found.append(f"{rel}:{line} reads {ast.unparse(key)}")
    assert not found, "environment reads outside config/settings.py:\n" + "\n".join(found)
    settings = (PACKAGE / "config" / "settings.py").read_text()
    assert "os.environ" in settings, "settings.py no longer reads the environment"


def test_the_environment_check_sees_every_form_of_read() -> None:
    code = (
        "import os\nos.environ['TETHER_A']\nos.environ.get('TETHER_B')\nos.getenv('TETHER_C')\n"
        "'TETHER_D' in os.environ\nos.environ[name]\nos.environ['X'] = '1'\n"
    )
    keys = [ast.unparse(k) for _, k in _env_key_reads(ast.parse(code))]
    assert sorted(keys) == ["'TETHER_A'", "'TETHER_B'", "'TETHER_C'", "'TETHER_D'", "name"]


# --- errors live in each layer's errors.py


def _all_modules() -> None:
    for info in pkgutil.walk_packages(tether.__path__, "tether."):
        if info.name == "tether.__main__" or ".migrations" in info.name:
            continue
        importlib.import_module(info.name)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


# The remote errors of tether.config: config/remotes.py is being split by job on another branch
# (h-cloud) at the time of writing; move these into config/errors.py after that merge, then
# empty this set.
NOT_YET_MOVED = {
    "ConfigNotEditable",
    "InvalidRemote",
    "NoDefaultRemote",
    "RemoteExists",
    "UnknownRemote",
}


def test_every_tether_error_is_defined_in_an_errors_module() -> None:
    """Each layer's exceptions are defined in its ``errors.py`` (docs/architecture.md), so a
    caller finds every error a layer raises in one place."""
    _all_modules()
    errors = {c for c in _subclasses(TetherError) if c.__module__.startswith("tether.")}
    assert len(errors) > 20
    outside = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in errors
        if c.__module__.rsplit(".", 1)[-1] != "errors"
        and not (c.__module__.startswith("tether.config.") and c.__name__ in NOT_YET_MOVED)
    )
    assert not outside, "TetherError subclasses outside an errors.py:\n" + "\n".join(outside)
