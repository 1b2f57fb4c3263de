from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from tether.cli import progress as progress_mod
from tether.cli.progress import progress_bar
from tether.objects.types import no_progress


def test_every_advance_reaches_the_bar_even_between_redraws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.progress import Progress

    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal: the bar is drawn
    monkeypatch.setattr(progress_mod, "REDRAW_S", 3600.0)  # only the first and the final flush
    seen: list[float] = []
    real_advance = Progress.advance

    def advance(self: Progress, task_id: object, n: float = 1) -> None:
        seen.append(n)
        real_advance(self, task_id, n)  # type: ignore[arg-type]

    monkeypatch.setattr(Progress, "advance", advance)
    with progress_bar("files", 4 * 1000 * 3, unit_bytes=False) as step:
        threads = [
            threading.Thread(target=lambda: [step(3) for _ in range(1000)]) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(seen) == 12_000
    assert len(seen) <= 3  # batched, not one rich call per file


def test_no_terminal_no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    with progress_bar("files", None, unit_bytes=True) as step:
        assert step is no_progress


def test_no_terminal_spares_the_import_of_rich() -> None:
    """`tether data add` with stderr redirected paid ~50 ms importing rich for a hidden bar."""
    code = (
        "import sys\n"
        "from tether.cli.progress import progress_bar\n"
        "with progress_bar('files', None, unit_bytes=True) as step:\n"
        "    step(1)\n"
        "assert 'rich' not in sys.modules, 'rich imported for a hidden bar'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, stderr=subprocess.PIPE)
