"""``tether data status`` answered without Typer when nothing changed, the common case.

Python's start and the imports of the Typer command (typer, click, pathlib, dataclasses, the
settings, ...) take longer than checking that an unchanged dataset is unchanged. So
:func:`tether.cli.main.main` first offers its arguments to :func:`answer`. It handles exactly
``tether [-C DIR | --workspace DIR] data status [--json]``, and only when every dataset's
snapshot shows it unchanged (:func:`tether.data.snapshot.unchanged`): then it prints what the
command prints, through :func:`render`, the command's own formatting. In every other case
(other arguments, no pointer, a dataset missing or changed, an error) it prints nothing and
returns False, and the Typer command runs as before; so any change, message or error is
reported by that command. Imports here are kept to the minimum.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


def _parse(args: list[str]) -> tuple[str | None, bool] | None:
    """(the -C folder or None, --json) for the arguments answered here; None for others."""
    workspace = None
    if len(args) > 2 and args[0] in ("-C", "--workspace"):
        workspace, args = args[1], args[2:]
        if not workspace or workspace.startswith("-"):
            return None
    if args[:2] != ["data", "status"] or args[2:] not in ([], ["--json"]):
        return None
    return workspace, args[2:] == ["--json"]


def render(rows: Sequence[Mapping[str, Any]], as_json: bool) -> str:
    """What ``tether data status`` prints for ``rows`` (``DatasetStatus.to_dict()`` each): the
    one formatting of both paths, the Typer command (tether.cli.data_cmd.status) and this one."""
    if as_json:
        import json

        return json.dumps(list(rows), indent=2) + "\n"
    if not rows:
        return "no datasets tracked here (no .tether pointer files)\n"
    lines = []
    for s in rows:
        head = f"{s['path']}  ({s['name']}@{s['version']})"
        if s["missing"]:
            lines.append(f"{head}: missing; restore it with `tether data checkout`")
        elif s["clean"]:
            lines.append(f"{head}: up to date")
        else:
            labels = ("added", "removed", "modified")
            lines.append(f"{head}: " + ", ".join(f"{len(s[k])} {k}" for k in labels))
            lines.extend(f"  {k + ':':<10} {p}" for k in labels for p in s[k])
    return "".join(line + "\n" for line in lines)


def _clean(path: str, name: str, version: int) -> dict[str, object]:
    """``DatasetStatus.to_dict()`` of a clean dataset (tether.data.changes)."""
    return {
        "name": name,
        "version": version,
        "path": path,
        "clean": True,
        "missing": False,
        "added": [],
        "removed": [],
        "modified": [],
    }


def _echo_safe(text: str) -> bool:
    """True when writing ``text`` to stdout gives the bytes ``click.echo`` would write: no
    control character (click strips colour codes), and ASCII or a UTF-8 stdout."""
    if sys.stdout is None or not text.replace("\n", "").isprintable():
        return False
    return text.isascii() or (sys.stdout.encoding or "").lower().replace("-", "") == "utf8"


def answer(args: Sequence[str]) -> bool:
    """Print the status and return True when every dataset is unchanged; else return False."""
    parsed = _parse(list(args))
    if parsed is None:
        return False
    workspace, as_json = parsed
    try:  # imported here: `tether.cli.main` imports this module for every command
        from tether.config.locate import find_root
        from tether.data.snapshot import unchanged

        root = find_root(workspace)
        datasets = unchanged(root) if root is not None else None
    except Exception:  # the Typer command reports it
        return False
    if datasets is None:
        return False
    text = render([_clean(*d) for d in datasets], as_json)
    if not _echo_safe(text):
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # as click does: the reader left; exit 1, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    return True
