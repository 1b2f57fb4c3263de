"""Finding and creating the ``.tether/`` folder that marks a workspace."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tether.config.atomic import write_text_atomic
from tether.config.errors import WorkspaceNotFound
from tether.config.locate import DIRNAME, find_root

CONFIG_NAME = "config.toml"

# Kept out of git: the database, the objects and scratch space. config.toml is meant to be
# committed, so that everyone who clones the repository shares the same settings.
GITIGNORE = """\
# Written by `tether init`. The settings file is shared through git; local state is not.
/tether.db
/tether.db-*
/objects/
/tmp/
/cache/
"""

CONFIG_TEMPLATE = """\
# Tether workspace settings. Commit this file.
# Every key can be overridden by a TETHER_* environment variable or a command-line flag;
# `tether config show` prints each effective value and where it came from.

[core]
project = {project}

# [store]
# url = "postgresql+psycopg://user@db.example.com/tether"   # default: SQLite in .tether/

# [objects]
# url = "s3://bucket/tether"                                 # default: .tether/objects
"""


@dataclass(frozen=True)
class WorkspaceDir:
    """A project folder that holds a ``.tether/`` directory."""

    root: Path

    @property
    def dir(self) -> Path:
        return self.root / DIRNAME

    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG_NAME


def find_workspace(start: str | os.PathLike[str] | None = None) -> WorkspaceDir:
    """Walk up from ``start`` (default: the current folder) to the first ``.tether/``."""
    root = find_root(start)
    if root is None:
        here = os.path.realpath(start if start is not None else os.getcwd())
        raise WorkspaceNotFound(
            f"no Tether workspace found in {here} or any parent folder; "
            "run `tether init` there to create one"
        )
    return WorkspaceDir(Path(root))


def default_project_name(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", root.resolve().name).strip("-.")
    return name or "default"


def init_workspace(root: Path | str, project: str | None = None) -> tuple[WorkspaceDir, bool]:
    """Create ``root/.tether`` with a config and a .gitignore; return (workspace, created).

    An existing workspace is left exactly as it is.
    """
    ws = WorkspaceDir(Path(root).resolve())
    if ws.config_path.exists():
        return ws, False
    ws.dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(ws.dir / ".gitignore", GITIGNORE)
    from tether.config.toml_edit import toml_string  # finding a workspace needs none of it

    name = project or default_project_name(ws.root)
    write_text_atomic(ws.config_path, CONFIG_TEMPLATE.format(project=toml_string(name)))
    return ws, True
