"""Finding the workspace root: the nearest folder, from a start folder upward, holding ``.tether/``.

Imports only ``os``: ``tether data status`` calls it before any other import
(:mod:`tether.cli.data_status`); :func:`tether.config.workspace.find_workspace` wraps it.
"""

from __future__ import annotations

import os

DIRNAME = ".tether"


def find_root(start: str | os.PathLike[str] | None = None) -> str | None:
    """The real path of the workspace holding ``start`` (default: the current folder), or None."""
    if start is None and os.name == "posix":
        folder = os.getcwd()  # POSIX: already absolute, no symbolic links (no realpath pass)
    else:
        folder = os.path.realpath(start if start is not None else os.getcwd())
    while True:  # os.path rather than pathlib: this runs on every run start
        if os.path.isdir(os.path.join(folder, DIRNAME)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
