"""gc_paused: collection off for a bulk operation, and exactly as before afterwards."""

from __future__ import annotations

import gc

import pytest

from hatang_desktop.core.perf import gc_paused


def test_gc_paused_restores_the_collector_whatever_happens():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("the operation failed")
    assert gc.isenabled()

    @gc_paused()
    def bulk():
        return gc.isenabled()

    assert bulk() is False and bulk() is False and gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()     # it was off before: it stays off
    finally:
        gc.enable()
