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
from sqlalchemy import text

from hatang_desktop.core.errors import HatangError

from .excel_export_dialog import record_label
from .strings import format_int, message_text, tr

SHOWN_BY = {  # how a record is named in the table: its code, then its name
    "sites": "site_code || ' · ' || coalesce(name, '')",
    "poles": "code",
    "fibre_routes": "code",
    "zones": "name",
    "site_tenants": "(SELECT site_code FROM sites s WHERE s.uuid = t.site_uuid) || ' · ' || t.operator_code",
    "pole_attachments": "(SELECT code FROM poles p WHERE p.uuid = t.pole_uuid) || ' · ' || t.operator_code",
}


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
        self.db_path = Path(db_path)
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
        from hatang_desktop.core.exchange.conflicts import list_conflicts
        from hatang_desktop.core.storage.database import Database

        try:
            with Database.open(self.db_path, readonly=True) as db:
                self.conflicts = list_conflicts(db)
                names = self._names(db)
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

    def _names(self, db) -> dict[str, str]:
        out = {}
        by_table: dict[str, set[str]] = {}
        for c in self.conflicts:
            by_table.setdefault(c.table, set()).add(c.record_uuid)
        with db.session() as s:
            for table, uuids in by_table.items():
                if table not in SHOWN_BY:
                    continue
                marks = ", ".join(f":u{k}" for k in range(len(uuids)))
                rows = s.execute(text(f"SELECT t.uuid, {SHOWN_BY[table]} FROM {table} t WHERE t.uuid IN ({marks})"),
                                 {f"u{k}": u for k, u in enumerate(sorted(uuids))}).all()
                out.update({u: name for u, name in rows if name})
        return out

    def _selection_changed(self) -> None:
        chosen = bool(self.table.selectionModel().selectedRows())
        for w in (self.keep_local, self.keep_theirs, self.edit_button):
            w.setEnabled(chosen)

    # -- deciding ------------------------------------------------------------------------

    def resolve_row(self, row: int, keep: str, value: str | None = None) -> bool:
        """Settle the conflict shown on `row`: keep 'local', 'theirs', or 'edited' with `value`
        (typed as the cell would be; checked against the form like a workbook cell)."""
        from hatang_desktop.core.exchange.conflicts import resolve_conflicts

        c = self.conflicts[row]
        edited = None
        if keep == "edited":
            try:
                edited = self._parse(c, value)
            except Exception as exc:  # FieldError and friends: the user's typing, not a bug
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

    def _parse(self, c, value: str | None):
        from hatang_desktop.core.exchange.export import province_communes
        from hatang_desktop.core.forms import load_forms, parse_value
        from hatang_desktop.core.storage.database import Database

        forms = load_forms()
        if c.field in ("lat", "lon"):
            return float(str(value).replace(",", "."))
        if c.field == "deleted":
            return str(value).strip().lower() in ("x", "1", "có", "co", "yes")
        f = forms[c.table].field(c.field)
        with Database.open(self.db_path, readonly=True) as db, db.session() as s:
            communes = province_communes(s)
        parsed = parse_value(f, value, lists=forms.lists, communes=communes)
        if f.type == "date" and parsed is not None:
            return parsed.isoformat()
        return parsed

    def _write(self, fn) -> bool:
        from hatang_desktop.core.storage.database import Database

        try:
            with Database.open(self.db_path) as db:
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
