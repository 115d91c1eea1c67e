"""Undo commands: every edit on the undo stack wraps the core edit's inverse.

The edit itself is done before the command is pushed (so a refused save never reaches the stack);
the first redo() that QUndoStack.push calls is therefore a no-op. Later undo/redo apply the stored
inverse in one transaction each, and keep the inverse of what they did for the way back.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from hatang_desktop.core.editing import EditResult, apply_inverse
from hatang_desktop.core.errors import HatangError


class EditCommand(QUndoCommand):
    def __init__(self, controller, result: EditResult) -> None:
        super().__init__(result.description)
        self.controller = controller
        self.table, self.uuid = result.table, result.uuid
        self.inverse = result.inverse  # applied by undo()
        self.redo_inverse = None  # applied by redo(), known once undone
        self._pushed = False

    def undo(self) -> None:
        self._apply(self.inverse, undo=True)

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self._apply(self.redo_inverse, undo=False)

    def _apply(self, inverse, undo: bool) -> None:
        db = self.controller.db
        if db is None or inverse is None:
            self.setObsolete(True)
            return
        try:
            result = apply_inverse(db, inverse, undo=undo)
        except HatangError as exc:
            # The record moved on (an import, another window): the stack drops this step rather
            # than overwrite someone's later change.
            self.setObsolete(True)
            self.controller.report_error(exc)
            return
        if undo:
            self.redo_inverse = result.inverse
        else:
            self.inverse = result.inverse
        self.controller.after_edit(self.table, self.uuid)
