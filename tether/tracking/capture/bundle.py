"""Everything that made a run, captured at once with no configuration.

Capturing never fails a run: a part that cannot be read (no git, no ``nvidia-smi``, an
unreadable ``/proc``) is left None or empty and the reason is kept in ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.tracking.capture.command import CommandInfo, capture_command
from tether.tracking.capture.environment import EnvironmentInfo, capture_environment
from tether.tracking.capture.git import GitInfo, capture_git
from tether.tracking.capture.host import HostInfo, capture_host


@dataclass(frozen=True)
class Capture:
    """Code, environment, host and command of a run; ``git`` is None outside a repository."""

    git: GitInfo | None
    environment: EnvironmentInfo
    host: HostInfo
    command: CommandInfo
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "git": None if self.git is None else self.git.to_dict(),
            "environment": self.environment.to_dict(),
            "host": self.host.to_dict(),
            "command": self.command.to_dict(),
            "warnings": list(self.warnings),
        }


def capture_all(cwd: Path | None = None, argv: list[str] | None = None) -> Capture:
    """Capture the git state around ``cwd`` (default: the working folder) and the rest."""
    warnings: list[str] = []
    command = capture_command(argv, cwd=cwd, warnings=warnings)
    git = capture_git(Path(command.cwd), warnings=warnings)
    return Capture(
        git=git,
        environment=capture_environment(),
        host=capture_host(warnings=warnings),
        command=command,
        warnings=tuple(warnings),
    )
