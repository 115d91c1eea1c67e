"""Performance helpers shared by the bulk operations (exchange, GIS, inspection)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for the duration of a bulk operation. An export, an import
    or a rules run makes hundreds of thousands of lists, tuples and row objects and no cycles
    worth collecting, and the collector's passes over them cost a tenth to a quarter of the
    time (measured on the province sample: Excel export 1.41 -> 1.23 s, GeoPackage export
    2.05 -> 1.47 s, GeoPackage import 8.11 -> 6.94 s). Collection resumes, with whatever the
    operation left, when it ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
