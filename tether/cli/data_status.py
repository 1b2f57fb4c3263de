"""``tether data status`` answered without Typer when nothing changed, the common case.

Python's start and the imports of the Typer command (typer, click, pathlib, dataclasses, the
settings, ...) take longer than checking that an unchanged dataset is unchanged. So
:func:`tether.cli.main.main` first offers its arguments to :func:`answer`. It handles exactly
``tether [-C DIR | --workspace DIR] data status [--json]``, and only when every dataset's
snapshot shows it unchanged (:func:`tether.data.snapshot.unchanged`): then it prints what the
command prints. In every other case (other arguments, no pointer, a dataset missing or changed,
an error) it prints nothing and returns False, and the Typer command runs as before; so any
change, message or error is reported by that command. Imports here are kept to the minimum.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Sequence


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


def _report(datasets: list[tuple[str, str, int]], as_json: bool) -> str:
    """What ``tether data status`` (tether.cli.data_cmd.status) prints for clean datasets."""
    if not as_json:
        return "".join(
            f"{path}  ({name}@{version}): up to date\n" for path, name, version in datasets
        )
    import json

    rows = [
        # tether.data.changes.DatasetStatus.to_dict of a clean dataset
        {
            "name": name,
            "version": version,
            "path": path,
            "clean": True,
            "missing": False,
            "added": [],
            "removed": [],
            "modified": [],
        }
        for path, name, version in datasets
    ]
    return json.dumps(rows, indent=2) + "\n"


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
    text = _report(datasets, as_json)
    if not _echo_safe(text):
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # as click does: the reader left; exit 1, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    return True
