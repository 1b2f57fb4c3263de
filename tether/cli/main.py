"""Entry point of the ``tether`` console script.

Tether errors are printed as one line on stderr with exit code 1; usage mistakes (an unknown
option, a missing argument) get click's usage message and exit code 2; Ctrl-C prints one line
and exits with 130. A traceback means a bug in Tether, never a mistake of the user.
"""

from __future__ import annotations

import sys

from tether.cli import data_status
from tether.errors import TetherError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_ERROR = 1


# root options that take a value: the command name comes after it
_VALUE_OPTIONS = frozenset({"-C", "--workspace", "--project", "--store-url", "--objects-url"})


def first_command(args: Sequence[str]) -> str | None:
    """The top-level command named in ``args``, skipping the root options; None for none."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _VALUE_OPTIONS:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> None:
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        if not data_status.answer(args):  # unchanged `tether data status`: answered before Typer
            _run(args)
    except TetherError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C)", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _run(args: list[str]) -> None:
    import typer

    from tether.cli.app import build_app
    from tether.gcpause import one_shot_process

    one_shot_process()
    command = typer.main.get_command(build_app(only=first_command(args)))
    # standalone: click (Typer's own copy) reports usage errors and exits by itself
    try:
        command.main(args=args, prog_name="tether", standalone_mode=True)
    except SystemExit as e:
        # Typer turns Ctrl-C into a silent exit 130; say what happened, in one line
        if e.code == EXIT_INTERRUPTED and _caused_by_interrupt(e):
            raise KeyboardInterrupt from None
        raise


def _caused_by_interrupt(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
