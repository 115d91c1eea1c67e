"""The window's news of its data: every write the app makes is announced here once.

Whoever changes the database (an edit, an undo, an import, a rule check) emits `changed` with
the core.changes.Changes the write returned; the map, the counts, the identify panel and the
history listen. Nobody reaches into the window to ask for a redraw.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class DataEvents(QObject):
    changed = Signal(object)  # core.changes.Changes

    def announce(self, changes) -> None:
        """Emit `changed` when something was written (an empty change redraws nothing)."""
        if changes:
            self.changed.emit(changes)
