"""The command that started a run: argv, the entry-point file and its digest, the folder.

A script (``python train.py``) or module (``python -m pkg.train``) is named by its file and
the BLAKE3 digest of that file; a REPL, ``python -c`` or a notebook has no entry file and is
marked ``interactive``. Secret-looking options are redacted from the recorded command line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.tracking.capture.redact import redact_argv

# Interpreter options that take a separate argument (``python -W error script.py``).
_OPTIONS_WITH_ARGUMENT = frozenset({"-W", "-X", "--check-hash-based-pycs"})
_INTERACTIVE_ENTRIES = frozenset({"", "-", "-c"})
_NOTEBOOK_LAUNCHERS = frozenset({"ipykernel_launcher.py", "ipython", "ipython3"})


@dataclass(frozen=True)
class CommandInfo:
    """How a run was started.

    ``argv`` is the program's own command line (``sys.argv``), ``orig_argv`` the full
    interpreter command line (``sys.orig_argv``: ``python -m pkg --lr 0.1``), both with secret
    values redacted. ``entry_point`` is the absolute path of the script or module file.
    """

    argv: tuple[str, ...]
    orig_argv: tuple[str, ...]
    executable: str
    cwd: str
    entry_point: str | None
    entry_point_digest: str | None
    module: str | None
    interactive: bool
    notebook: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "orig_argv": list(self.orig_argv),
            "executable": self.executable,
            "cwd": self.cwd,
            "entry_point": self.entry_point,
            "entry_point_digest": self.entry_point_digest,
            "module": self.module,
            "interactive": self.interactive,
            "notebook": self.notebook,
        }


def capture_command(
    argv: Sequence[str] | None = None,
    *,
    cwd: Path | None = None,
    warnings: list[str] | None = None,
) -> CommandInfo:
    """Describe the running command, or ``argv`` when given.

    An explicit ``argv`` is read like Python's own: ``["train.py", "--lr", "0.1"]`` for a
    script, ``["-m", "pkg.train", ...]`` for a module, ``["-c", ...]`` or ``[""]`` for
    interactive use.
    """
    folder = _cwd(warnings) if cwd is None else Path(cwd)
    notebook: str | None = None
    if argv is None:
        args = list(sys.argv)
        orig = list(getattr(sys, "orig_argv", [sys.executable, *args]))
        module = _module_from_orig_argv(orig)
        interactive = _running_interactively(args)
        if interactive:
            notebook = os.environ.get("JPY_SESSION_NAME") or None
    else:
        args = list(argv)
        orig = [sys.executable, *args]
        module = args[1] if len(args) > 1 and args[0] == "-m" else None
        interactive = not args or args[0] in _INTERACTIVE_ENTRIES

    entry: Path | None = None
    if not interactive and args:
        entry = _entry_file(args[0], module, folder, warnings)
    digest = _file_digest(entry, warnings) if entry is not None else None
    return CommandInfo(
        argv=tuple(redact_argv(args)),
        orig_argv=tuple(redact_argv(orig)),
        executable=sys.executable,
        cwd=str(folder),
        entry_point=str(entry) if entry is not None and digest is not None else None,
        entry_point_digest=digest,
        module=module,
        interactive=interactive,
        notebook=notebook,
    )


def _cwd(warnings: list[str] | None) -> Path:
    try:
        return Path.cwd()
    except OSError as e:  # the working folder was deleted under the process
        _warn(warnings, f"working folder not recorded: {e}")
        return Path(os.environ.get("PWD", "."))


def _module_from_orig_argv(orig: Sequence[str]) -> str | None:
    """``pkg.train`` from ``python -X dev -m pkg.train ...``; None for a script or ``-c``."""
    i = 1
    while i < len(orig):
        arg = orig[i]
        if arg == "-m":
            return orig[i + 1] if i + 1 < len(orig) else None
        if arg.startswith("-m"):
            return arg[2:]
        if arg in _OPTIONS_WITH_ARGUMENT:
            i += 2
            continue
        if arg.startswith("-c") or arg == "--" or not arg.startswith("-") or arg == "-":
            return None
        i += 1
    return None


def _running_interactively(args: Sequence[str]) -> bool:
    if not args or args[0] in _INTERACTIVE_ENTRIES:
        return True
    return Path(args[0]).name in _NOTEBOOK_LAUNCHERS or "ipykernel" in sys.modules


def _entry_file(
    first: str, module: str | None, cwd: Path, warnings: list[str] | None
) -> Path | None:
    if first != "-m":
        path = Path(first)
        path = path if path.is_absolute() else cwd / path
        if path.is_file():
            return path.resolve()
    if module is None:
        _warn(warnings, f"entry point {first!r} is not a file; its content is not recorded")
        return None
    return _module_file(module, warnings)


def _module_file(module: str, warnings: list[str] | None) -> Path | None:
    """The file ``python -m module`` runs: the module, or a package's ``__main__``."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{module}.__main__")
    except Exception as e:  # importing a parent package can fail in any way
        _warn(warnings, f"module {module!r} could not be resolved to a file: {e}")
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        _warn(warnings, f"module {module!r} has no source file; its content is not recorded")
        return None
    return Path(spec.origin).resolve()


def _file_digest(path: Path, warnings: list[str] | None) -> str | None:
    import blake3

    hasher = blake3.blake3()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                hasher.update(chunk)
    except OSError as e:
        _warn(warnings, f"entry point {str(path)!r} could not be read: {e}")
        return None
    return str(hasher.hexdigest())


def _warn(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)
