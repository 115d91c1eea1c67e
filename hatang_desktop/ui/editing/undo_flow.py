"""Running edits: one core edit is one undo step (commands.EditCommand) whose changes are announced
on the window's data events; the edited record is shown again and the history follows."""

from __future__ import annotations

from hatang_desktop.core import editing, schema
from hatang_desktop.core.editing import EditResult
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.map_data import read_feature

from PySide6.QtWidgets import QMessageBox

from ..strings import message_text, tr
from .commands import EditCommand


class UndoFlow:
    """Mixed into EditController: run and push edits, undo and redo, show what they changed."""

    # -- running edits --------------------------------------------------------------------------

    def run(self, edit) -> EditResult | None:
        """Do one core edit; on success push it for undo and redraw, else say why (and redraw the
        handles where they were)."""
        if not self.writable:
            self.report_error(tr("edit_readonly"))
            return None
        try:
            result = edit()
        except HatangError as exc:
            problems = getattr(exc, "problems", None)
            self.report_error("\n".join(message_text(m) for _, m in problems) if problems else exc)
            self.show_handles()
            return None
        self.push(result)
        return result

    def push(self, result: EditResult) -> None:
        """An edit done: one undo step, and its changes announced (the map follows), showing
        the edited record."""
        if result.changed:
            self.stack.push(EditCommand(self, result.operation_id, result.description))
            self.status(tr("edit_saved", text=result.description))
            self._focus = (result.table, result.uuid)
            self.events.announce(result.changes)
        else:
            # Said all the same: a Lưu that writes nothing must not look like one that failed.
            self.status(tr("edit_saved_unchanged", text=result.description))
            self._show_record(result.table, result.uuid, gone=False)

    def push_operation(self, changes, *, confirm_undo: bool = False) -> None:
        """A write done elsewhere (an import, a rule check): one undo step when the database
        here can undo it, and its changes announced. `confirm_undo`: undoing it asks first (an
        import, which reverts every record it wrote)."""
        if changes.operation_id is not None and changes and self.writable:
            self.stack.push(EditCommand(self, changes.operation_id, changes.description, confirm=confirm_undo))
        self.events.announce(changes)

    def undo_step(self) -> None:
        """Edit > Hoàn tác (Ctrl+Z): the last step undone, after a yes when it is an import. An
        import some of whose records were edited since is refused (core.undo: StaleEdit), named
        in a message, and nothing is written."""
        index = self.stack.index()
        if index == 0:
            return
        command = self.stack.command(index - 1)
        if getattr(command, "confirm", False):
            yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
            box = QMessageBox(QMessageBox.Icon.Question, tr("undo_import_title"),
                              tr("undo_import_question", what=command.text()), yes | no, self.window)
            box.setDefaultButton(no)
            # Buttons that say what they do, not a bare yes or no to a long question.
            box.button(yes).setText(tr("undo_import_yes"))
            box.button(no).setText(tr("undo_import_no"))
            if box.exec() != yes:
                return
        self.stack.undo()

    def stepped(self, result: EditResult) -> None:
        """An undo or redo done (commands.EditCommand): announced like any edit."""
        self.status(result.description)
        # One record edited: show it; an import undone: keep whatever the panel shows.
        one = sum(len(result.changes.touched(t)) for t in editing.EDITABLE) == 1
        self._focus = (result.table, result.uuid) if one and result.table in editing.EDITABLE else None
        self.events.announce(result.changes)

    def _data_changed(self, changes) -> None:
        """After the map: the record just edited, or the one the identify panel shows if the
        change touched it, is read again once; gone, the panel clears."""
        focus, self._focus = self._focus, None
        if focus is None:
            feature = self.window.identify_panel.feature
            focus = (feature.table, feature.uuid) if feature is not None else None
            if focus is not None and focus[1] not in changes.touched(focus[0]):
                return
        if focus is not None:
            self._show_record(*focus, gone=focus[1] in changes.deleted.get(focus[0], ()))

    def _show_record(self, table: str, uuid: str, gone: bool) -> None:
        """Show the record in the identify panel (cleared when it is gone), keep the handles on it."""
        feature = None
        if self.db is not None and table and not gone:
            try:
                feature = read_feature(self.db, table, uuid)
            except (HatangError, TypeError):  # TypeError: no such row
                feature = None
        self.window.identify_panel.show_feature(feature) if feature else self.window.identify_panel.clear()
        self.canvas.highlight(feature.geometry if feature else None)
        self.show_handles()
        self.refresh_history()

    def refresh_history(self) -> None:
        if not self.history_dock.isVisible():
            return
        feature = self.window.identify_panel.feature
        if feature is None or feature.table not in self.forms.forms:
            self.history_dock.clear()
            return
        code = schema.title(feature.table, feature.attributes)
        self.history_dock.show_record(self.db, feature.table, feature.uuid, code)

    def _history_shown(self, shown: bool) -> None:
        table_dock = getattr(self.window, "table_dock", None)
        if shown and not self._tabified and table_dock is not None and table_dock.isVisible():
            self._tabified = True
            self.window.tabifyDockWidget(table_dock, self.history_dock)
        if shown:
            self.history_dock.raise_()
            self.refresh_history()
