"""Entry point of the ``tether`` console script.

Tether errors are printed as one line on stderr with a non-zero exit code; a traceback means a
bug in Tether, never a mistake of the user.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tether.errors import TetherError

EXIT_ERROR = 1


def main(argv: Sequence[str] | None = None) -> None:
    import click
    import typer

    from tether.cli.app import app

    command = typer.main.get_command(app)
    try:
        command.main(
            args=list(argv) if argv is not None else None, prog_name="tether", standalone_mode=False
        )
    except TetherError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        sys.exit(130)
