from __future__ import annotations

import gc

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
