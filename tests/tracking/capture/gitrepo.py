"""Running git in the test repositories."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

Git = Callable[..., str]


def run_git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout
