"""When Python's cyclic garbage collector runs in the desktop app, and over what.

A full collection walks every object the interpreter tracks: in the app that is ~170 k objects
from its imports and the window alone (Qt wrappers, pyqtgraph, pandas, SQLAlchemy), ~90 ms of
GUI-thread time per pass on the 2-core test machine, and no other thread runs meanwhile. Seen
in the map benchmark: a 102 ms full pass while the country's map opened, the longest freeze of
that opening (the goal is no block over 50 ms).

So: collections run on the GUI thread on a timer (pyqtgraph's GarbageCollector; one run from a
worker thread could destroy a Qt widget there and deadlock on the GIL, seen with a QMenu), and
what exists once the window is built is frozen (`gc.freeze`: moved to a generation no pass
walks). Those objects live as long as the app; a full pass then walks only what was made since
(~15 k objects after opening the national sample, ~3 ms). Frozen objects are still freed by
reference counting; only cycles among them wait for the app's end.
"""

from __future__ import annotations

import gc


def install(app) -> None:
    """Cyclic collection on `app`'s GUI thread, once a second, never from a worker thread."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    app._hatang_gc = GarbageCollector(interval=1.0)


def freeze_startup() -> None:
    """Collect what startup left behind, then keep every surviving object out of later passes
    (call once the main window exists, before a database is opened)."""
    gc.collect()
    gc.freeze()
