"""Undo commands: one step on the stack is one operation of the change log (core/undo.py).

The edit itself is done before the command is pushed (so a refused save never reaches the stack);
the first redo() that QUndoStack.push calls is therefore a no-op. Undo writes back the old values
the log holds for the operation, as a new operation; redo undoes that one. The command keeps only
the id of the operation its next step reverses: the change log is the only copy of the data.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.undo import undo_operation


class EditCommand(QUndoCommand):
    def __init__(self, controller, operation_id: int, description: str, *, confirm: bool = False) -> None:
        super().__init__(description)
        self.controller = controller
        self.operation_id = operation_id  # what the next undo() or redo() reverses
        # An import: undoing it reverts many records at once, so the Edit menu asks first.
        self.confirm = confirm
        self._pushed = False

    def undo(self) -> None:
        self._step(undo=True)

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self._step(undo=False)

    def _step(self, undo: bool) -> None:
        db = self.controller.db
        if db is None:
            self.setObsolete(True)
            return
        try:
            result = undo_operation(db, self.operation_id, undo=undo)
        except HatangError as exc:
            # The record moved on (an import, another window): the stack drops this step rather
            # than overwrite someone's later change.
            self.setObsolete(True)
            self.controller.report_error(exc)
            return
        self.operation_id = result.operation_id
        self.controller.stepped(result)
