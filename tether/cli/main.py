"""Entry point of the ``tether`` console script.

Tether errors are printed as one line on stderr with exit code 1; usage mistakes (an unknown
option, a missing argument) get click's usage message and exit code 2. A traceback means a bug
in Tether, never a mistake of the user.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tether.errors import TetherError

EXIT_ERROR = 1


def main(argv: Sequence[str] | None = None) -> None:
    import typer

    from tether.cli.app import app

    command = typer.main.get_command(app)
    try:
        # standalone: click (Typer's own copy) reports usage errors and exits by itself
        command.main(
            args=list(argv) if argv is not None else None,
            prog_name="tether",
            standalone_mode=True,
        )
    except TetherError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        sys.exit(130)
