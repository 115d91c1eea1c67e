"""The list of what an import will do, in the import dialogs (Excel and GIS): one row per record
inserted, updated or deleted, named by its code and name, with its fields "old → new", what goes
with a deletion, what a new record arrives without and the commune filled from its position
(core.exchange.preview describes them); a filter by action and a search box above it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout)

from hatang_desktop.core.exchange.preview import ARROW, PlannedRecord
from hatang_desktop.core.text import fold

from .record_text import record_label
from .strings import format_int, tr

FILTERS = ("all", "insert", "update", "delete", "warnings")
SHOWN_AT_MOST = 2000   # rows built at once; the search finds the others
COLOURS = {"insert": "#1b7f3b", "update": "#1f5fa8", "delete": "#b00020", "warning": "#8a5300", "note": "#555555"}


def _wanted(entry: PlannedRecord, which: str) -> bool:
    if which == "all":
        return True
    if which == "warnings":
        return bool(entry.warnings or entry.notes or entry.conflicts)
    return entry.action == which


class ImportPlanBox(QGroupBox):
    """What the import will do; `show_plan(entries)` fills it, the filter and search narrow it."""

    def __init__(self, parent=None) -> None:
        super().__init__(tr("xl_plan_group"), parent)
        self.entries: list[PlannedRecord] = []
        self._texts: list[str] = []
        self.filter_combo = QComboBox()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(tr("xl_plan_search"))
        self.search_edit.setClearButtonEnabled(True)
        self.shown_label = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel(tr("xl_plan_show")))
        top.addWidget(self.filter_combo)
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.shown_label)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels([tr("xl_plan_action"), tr("xl_record"), tr("xl_plan_code"), tr("xl_plan_name")])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        for i in range(3):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        self.filter_combo.currentIndexChanged.connect(self._refill)
        self.search_edit.textChanged.connect(self._refill)

    def show_plan(self, entries: list[PlannedRecord]) -> None:
        self.entries = list(entries)
        self._texts = [fold(e.text()) for e in self.entries]
        current = self.filter_combo.currentData() or "all"
        self.filter_combo.blockSignals(True)
        self.filter_combo.clear()
        for which in FILTERS:
            n = sum(_wanted(e, which) for e in self.entries)
            self.filter_combo.addItem(tr(f"xl_plan_filter_{which}", n=format_int(n)), which)
        self.filter_combo.setCurrentIndex(max(0, self.filter_combo.findData(current)))
        self.filter_combo.blockSignals(False)
        self._refill()
        self.setVisible(bool(self.entries))

    def shown(self) -> list[PlannedRecord]:
        """The entries the filter and the search keep, in order."""
        which = self.filter_combo.currentData() or "all"
        words = fold(self.search_edit.text()).split()
        return [e for e, t in zip(self.entries, self._texts)
                if _wanted(e, which) and all(w in t for w in words)]

    def set_filter(self, which: str) -> None:
        self.filter_combo.setCurrentIndex(self.filter_combo.findData(which))

    def _refill(self) -> None:
        kept = self.shown()
        self.tree.setUpdatesEnabled(False)
        self.tree.clear()
        items = [self._item(e) for e in kept[:SHOWN_AT_MOST]]
        self.tree.addTopLevelItems(items)
        for item in items:   # a detail line reads across the columns (only once in the tree)
            for i in range(item.childCount()):
                item.child(i).setFirstColumnSpanned(True)
        self.tree.expandAll()
        self.tree.setUpdatesEnabled(True)
        self.shown_label.setText(tr("xl_plan_shown", shown=format_int(min(len(kept), SHOWN_AT_MOST)),
                                    n=format_int(len(self.entries))))

    def _item(self, e: PlannedRecord) -> QTreeWidgetItem:
        item = QTreeWidgetItem([tr(f"xl_plan_{e.action}"), record_label(e.record), e.code, e.name])
        item.setForeground(0, QBrush(QColor(COLOURS[e.action])))
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        lines = [(f"{c.label}: {c.old} {ARROW} {c.new}", "update") for c in e.changes]
        lines += [(tr("xl_plan_with", what=w), "delete") for w in e.with_it]
        lines += [(f"⚠ {w}", "warning") for w in e.warnings]
        lines += [(n, "note") for n in e.notes]
        if e.conflicts:
            lines.append((tr("xl_plan_conflicts", n=format_int(e.conflicts)), "warning"))
        for text, kind in lines:
            child = QTreeWidgetItem(item, [text])
            child.setForeground(0, QBrush(QColor(COLOURS[kind])))
            child.setToolTip(0, text)
        return item
