"""docs/cli.md, generated from the real ``--help`` of every command (a test keeps it current).

Regenerate with ``python -m tether.cli.reference > docs/cli.md``.
"""

from __future__ import annotations

from typing import Any

import typer

from tether.cli.app import build_app

WIDTH = 100


def _walk(command: Any, path: list[str]) -> list[str]:
    # Typer ships its own copy of click: use the command's own context class, not click's
    ctx = command.context_class(
        command, info_name=" ".join(path), terminal_width=WIDTH, max_content_width=WIDTH
    )
    out = [f"## `{' '.join(path)}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                out += _walk(sub, [*path, name])
    return out


def render() -> str:
    root = typer.main.get_command(build_app())
    lines = [
        "# Command-line reference",
        "",
        "Generated from `tether --help` and every subcommand's `--help` by",
        "`python -m tether.cli.reference > docs/cli.md`; a test fails when it is out of date.",
        "",
    ]
    return "\n".join(lines + _walk(root, ["tether"])).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
