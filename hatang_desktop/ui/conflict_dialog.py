"""Xung đột: fields changed both here and in a workbook, to different values.

One row per open conflict (record type, record code or name, field, this computer's value, the
workbook's value). The user keeps one side, or types a value, per row or for all at once; each
choice goes through core's `resolve_conflicts` on its own read-write connection, which applies
the value, logs it and clears the conflict.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from hatang_desktop.core.errors import HatangError

from .excel_common import record_label
from .strings import format_int, message_text, tr
from .loader import as_target

def shown_value(value) -> str:
    if value in (None, "", [], ()):
        return tr("xl_empty")
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, list):
        return "/".join(map(str, value))
    return str(value)


class ConflictDialog(QDialog):
    resolved = Signal(int)  # how many conflicts a choice settled

    def __init__(self, db_path: str | Path, parent=None) -> None:
        super().__init__(parent)
        self.db_path = as_target(db_path)
        self.conflicts = []
        self.error: str | None = None
        self.setWindowTitle(tr("xl_conflicts_title"))
        self.resize(980, 480)
        intro = QLabel(tr("xl_conflicts_intro"))
        intro.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels([tr("xl_record"), tr("xl_record_code"), tr("xl_field"),
                                              tr("xl_local_value"), tr("xl_theirs_value"), tr("xl_workbook")])
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.keep_local = QPushButton(tr("xl_keep_local"))
        self.keep_theirs = QPushButton(tr("xl_keep_theirs"))
        self.edit_value = QLineEdit()
        self.edit_button = QPushButton(tr("xl_keep_edit"))
        self.keep_local.clicked.connect(lambda: self.resolve_selected("local"))
        self.keep_theirs.clicked.connect(lambda: self.resolve_selected("theirs"))
        self.edit_button.clicked.connect(lambda: self.resolve_selected("edited", self.edit_value.text()))
        row_actions = QHBoxLayout()
        for w in (self.keep_local, self.keep_theirs, self.edit_button):
            row_actions.addWidget(w)
        row_actions.addWidget(self.edit_value, 1)
        self.all_local = QPushButton(tr("xl_keep_all_local"))
        self.all_theirs = QPushButton(tr("xl_keep_all_theirs"))
        self.all_local.clicked.connect(lambda: self.keep_all("local"))
        self.all_theirs.clicked.connect(lambda: self.keep_all("theirs"))
        close = QPushButton(tr("xl_close"))
        close.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.all_local)
        bottom.addWidget(self.all_theirs)
        bottom.addStretch(1)
        bottom.addWidget(close)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_actions)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.reload()

    # -- reading -------------------------------------------------------------------------

    def reload(self) -> None:
        from hatang_desktop.core.exchange.conflicts import list_conflicts, record_names
        from hatang_desktop.core.storage.targets import open_database

        try:
            with open_database(self.db_path, readonly=True) as db:
                self.conflicts = list_conflicts(db)
                names = record_names(db, self.conflicts)
        except HatangError as exc:
            self._show_error(message_text(exc))
            self.conflicts, names = [], {}
        t = self.table
        t.setRowCount(len(self.conflicts))
        for i, c in enumerate(self.conflicts):
            values = (record_label(c.table), names.get(c.record_uuid, c.record_uuid[:8]), c.label,
                      shown_value(c.local), shown_value(c.theirs), c.workbook)
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                if j == 3:
                    item.setForeground(Qt.GlobalColor.darkBlue)
                elif j == 4:
                    item.setForeground(Qt.GlobalColor.darkMagenta)
                t.setItem(i, j, item)
        has = bool(self.conflicts)
        for w in (self.all_local, self.all_theirs):
            w.setEnabled(has)
        if not has and not self.error:
            self.status.setText(tr("xl_no_conflicts"))
        self._selection_changed()

    def _selection_changed(self) -> None:
        chosen = bool(self.table.selectionModel().selectedRows())
        for w in (self.keep_local, self.keep_theirs, self.edit_button):
            w.setEnabled(chosen)

    # -- deciding ------------------------------------------------------------------------

    def resolve_row(self, row: int, keep: str, value: str | None = None) -> bool:
        """Settle the conflict shown on `row`: keep 'local', 'theirs', or 'edited' with `value`
        (typed as the cell would be; checked against the form like a workbook cell)."""
        from hatang_desktop.core.exchange.conflicts import parse_edited_value, resolve_conflicts
        from hatang_desktop.core.storage.targets import open_database

        c = self.conflicts[row]
        edited = None
        if keep == "edited":
            try:
                with open_database(self.db_path, readonly=True) as db:
                    edited = parse_edited_value(db, c, value)
            except (ValueError, HatangError) as exc:  # FieldError (the typing), a file that cannot be read
                self._show_error(tr("xl_bad_value", message=message_text(exc)))
                return False
        return self._write(lambda db: resolve_conflicts(db, keep, conflict_or_record=c.id, edited_value=edited))

    def resolve_selected(self, keep: str, value: str | None = None) -> bool:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}, reverse=True)
        if not rows:
            self._show_error(tr("xl_select_row"))
            return False
        ok = True
        for r in rows:  # settle from the bottom: earlier rows keep their index
            ok = self.resolve_row(r, keep, value) and ok
        return ok

    def keep_all(self, keep: str) -> bool:
        from hatang_desktop.core.exchange.conflicts import resolve_conflicts

        return self._write(lambda db: resolve_conflicts(db, keep))

    def _write(self, fn) -> bool:
        from hatang_desktop.core.storage.targets import open_database

        try:
            with open_database(self.db_path) as db:
                n = fn(db)
        except HatangError as exc:
            self._show_error(message_text(exc))
            return False
        self.error = None
        self.status.setStyleSheet("")
        self.reload()
        done = tr("xl_resolved", n=format_int(n))
        self.status.setText(done if self.conflicts else f"{done} {tr('xl_no_conflicts')}")
        self.resolved.emit(n)
        return True

    def _show_error(self, text_: str) -> None:
        self.error = text_
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(text_)
