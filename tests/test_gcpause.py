from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tether.gcpause import gc_paused


def test_paused_inside_nested_passes_and_restored_after() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pass still runs
    assert gc.isenabled()


def test_decorator_restores_after_an_error_and_keeps_a_disabled_collector_off() -> None:
    @gc_paused()
    def fails() -> None:
        assert not gc.isenabled()
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fails()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller had turned it off: it stays off
    finally:
        gc.enable()


def _python(code: str, cwd: Path | None = None) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, cwd=cwd)


def test_a_library_process_collects_what_a_pass_left() -> None:
    _python(
        """
        import gc
        from tether.gcpause import gc_paused
        with gc_paused():
            kept = [[] for _ in range(50_000)]
        assert gc.isenabled() and gc.get_freeze_count() == 0
        """
    )


def test_the_cli_freezes_what_a_data_add_left_instead_of_collecting_it(tmp_path: Path) -> None:
    """Collecting the ~100,000s of objects a big `data add` leaves cost 0.3 s of CPU right
    before the CLI process exits."""
    subprocess.run([sys.executable, "-m", "tether", "init"], cwd=tmp_path, check=True)
    (tmp_path / "d").mkdir()
    for i in range(50):
        (tmp_path / "d" / f"{i}.txt").write_text(str(i))
    _python(
        """
        import gc
        from tether.cli.main import main
        try:
            main(["data", "add", "d"])
        except SystemExit as e:
            assert not e.code, e.code
        assert gc.isenabled() and gc.get_freeze_count() > 0
        """,
        cwd=tmp_path,
    )
    assert (tmp_path / "d.tether").is_file()
