"""The history dock: a record's changes from the append-only change log, one operation per group
(who, when, what it was), its field changes underneath as old → new."""

from __future__ import annotations

import math
from html import escape

from PySide6.QtWidgets import QDockWidget, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from hatang_desktop.core import schema
from hatang_desktop.core.editing import HistoryEntry, record_history
from hatang_desktop.core.forms import TECH_COLUMNS, Forms

from ..record_text import record_label, yes_no
from ..strings import language, message_text, tr


class HistoryDock(QDockWidget):
    def __init__(self, forms: Forms, parent=None) -> None:
        super().__init__(tr("history_dock"), parent)
        self.setObjectName("history_dock")
        self.forms = forms
        self.heading = QLabel(tr("history_hint"))
        self.heading.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels([tr("history_col_action"), tr("history_col_old"), tr("history_col_new")])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.heading)
        lay.addWidget(self.tree)
        self.setWidget(body)
        self.entries: list[HistoryEntry] = []
        self.table: str | None = None
        self.uuid: str | None = None

    def clear(self) -> None:
        self.entries, self.table, self.uuid = [], None, None
        self.tree.clear()
        self.heading.setText(tr("history_hint"))

    def show_record(self, db, table: str | None, uuid: str | None, code: str = "") -> None:
        if db is None or table is None or uuid is None or table not in self.forms.forms:
            self.clear()
            return
        self.table, self.uuid = table, uuid
        self.entries = record_history(db, table, uuid)
        self.tree.clear()
        groups: dict = {}
        for e in self.entries:
            key = (e.operation_id, e.time) if e.operation_id is None else e.operation_id
            group = groups.get(key)
            if group is None:
                time = e.time[:16]
                group = QTreeWidgetItem([f"{time} · {e.user}", "", ""])
                group.setToolTip(0, f"{e.description}\n{e.time} · {e.user} · {e.source}")
                desc = QTreeWidgetItem([message_text(e.description) or tr("history_" + e.action), "", ""])
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                self.tree.addTopLevelItem(group)
                group.addChild(desc)
                groups[key] = group
            group.addChild(self._item(e))
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        name = record_label(table)
        self.heading.setText(f"<b>{escape(tr('history_heading', record=name, code=code, n=len(groups)))}</b>")

    def _item(self, e: HistoryEntry) -> QTreeWidgetItem:
        form = self.forms.forms.get(e.table)
        prefix = ""
        if e.table != self.table and form is not None:
            prefix = form.label(language()) + ": "
        if e.action == "insert":
            return QTreeWidgetItem([prefix + tr("history_insert"), "", ""])
        if e.field == "deleted":
            return QTreeWidgetItem([prefix + tr("history_" + e.action), "", ""])
        label = schema.field_label(e.table, str(e.field), language())
        return QTreeWidgetItem([prefix + label, self._value(e.table, e.field, e.old_value),
                                self._value(e.table, e.field, e.new_value)])

    def _value(self, table: str, name: str | None, value) -> str:
        if value is None:
            return "–"
        if isinstance(value, bytes):
            return "(hình học)" if language() == "vi" else "(geometry)"
        if name in TECH_COLUMNS.values():
            return yes_no(bool(value))
        words = schema.value_text(table, str(name), value, language())
        if words is not None:
            return words
        if isinstance(value, float):
            if not math.isfinite(value):
                text = str(value)
            elif name in ("lat", "lon"):
                text = f"{value:.7f}".rstrip("0").rstrip(".")
            else:
                text = f"{value:.6g}"
            return text.replace(".", ",") if language() == "vi" else text
        return str(value)
