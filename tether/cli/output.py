"""Printing for people through rich, with markup off: names, params, errors and install hints
(``pip install 'tether[sklearn]'``) print as typed, never read as ``[style]`` tags.

Styled parts are :class:`rich.text.Text` objects (:func:`styled`), not markup strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


def console(*, stderr: bool = False, wide: bool = False) -> Console:
    """A console for people; ``wide`` lines are never cut to the terminal (``--wide``)."""
    from rich.console import Console

    return Console(
        markup=False, highlight=False, stderr=stderr, width=WIDE_COLUMNS if wide else None
    )


WIDE_COLUMNS = 100_000  # rich pads a table to its content, not to the console's width


def styled(*parts: str | tuple[str, str]) -> Text:
    """Plain strings and ``(text, style)`` pairs, joined: ``styled(("run", "bold"), " ", name)``."""
    from rich.text import Text

    return Text.assemble(*parts)
