"""The attribute table dock: the selected features of one layer, sortable and searchable.

A QAbstractTableModel over plain rows from core; sorting and the search field go through a
proxy. The search is diacritics-insensitive, like the toolbar search ("thanh sen" finds
"Thành Sen"). Double-clicking a row asks the window to zoom to that feature.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDockWidget, QHBoxLayout, QLabel, QLineEdit,
                               QTableView, QVBoxLayout, QWidget)

from hatang_desktop.core.text import fold

from .record_text import field_label, format_value, record_label
from .strings import format_int, tr

TABLE_LAYERS = (("sites", "sites"), ("routes", "fibre_routes"), ("poles", "poles"))  # (layer key, table)


class AttributeModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.table = ""
        self.fields: list[str] = []
        self.rows: list[tuple] = []  # (uuid, *values)
        self.shown: list[list[str]] = []
        self.keys: list[str] = []  # folded row text, for the search field

    def set_rows(self, table: str, fields: list[str], rows: list[tuple]) -> None:
        self.beginResetModel()
        self.table, self.fields, self.rows = table, fields, rows
        self.shown = [["" if v is None else format_value(table, f, v) for f, v in zip(fields, row[1:])]
                      for row in rows]
        self.keys = [fold(" ".join(cells)) for cells in self.shown]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.fields)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.shown[index.row()][index.column()]
        if role == Qt.ItemDataRole.UserRole:  # the raw value: numbers sort as numbers
            value = self.rows[index.row()][index.column() + 1]
            return value if isinstance(value, (int, float)) else fold(str(value or ""))
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(self.rows[index.row()][index.column() + 1],
                                                                    (int, float)):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return field_label(self.table, self.fields[section])
        return None

    def uuid(self, row: int) -> str:
        return self.rows[row][0]


class FoldedFilter(QSortFilterProxyModel):
    """Keeps the rows whose text contains the search words, diacritics ignored."""

    def __init__(self) -> None:
        super().__init__()
        self.key = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.key = fold(text)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.key = fold(text)
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, _parent) -> bool:
        return not self.key or self.key in self.sourceModel().keys[row]


class AttributeTable(QDockWidget):
    layer_changed = Signal(str)  # layer key chosen in the combo
    feature_activated = Signal(str, str)  # layer key, uuid (double-click)

    def __init__(self, parent=None) -> None:
        super().__init__(tr("dock_table"), parent)
        self.setObjectName("attribute_table")
        self.model = AttributeModel()
        self.proxy = FoldedFilter()
        self.proxy.setSourceModel(self.model)
        self.layer_combo = QComboBox()
        for key, table in TABLE_LAYERS:
            self.layer_combo.addItem(record_label(table, plural=True), key)
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("table_filter"))
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().hide()
        self.hint = QLabel(tr("table_hint"))
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555; padding: 6px")
        top = QHBoxLayout()
        top.addWidget(self.layer_combo)
        top.addWidget(self.search, 1)
        top.addWidget(self.count_label)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        layout.addWidget(self.view, 1)
        self.setWidget(body)
        self.search.textChanged.connect(self._filter)
        self.layer_combo.currentIndexChanged.connect(lambda _i: self.layer_changed.emit(self.layer_key()))
        self.view.doubleClicked.connect(self._activated)
        self._update_count()

    def layer_key(self) -> str:
        return self.layer_combo.currentData()

    def set_layer(self, key: str) -> None:
        self.layer_combo.setCurrentIndex(self.layer_combo.findData(key))

    def set_rows(self, table: str, fields: list[str], rows: list[tuple]) -> None:
        self.model.set_rows(table, fields, rows)
        self.view.resizeColumnsToContents()
        self.hint.setVisible(not rows)
        self._update_count()

    def _filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_count()

    def _update_count(self) -> None:
        self.count_label.setText(tr("table_rows", shown=format_int(self.proxy.rowCount()),
                                    total=format_int(self.model.rowCount())))

    def _activated(self, index) -> None:
        row = self.proxy.mapToSource(index).row()
        self.feature_activated.emit(self.layer_key(), self.model.uuid(row))

    def activate_row(self, view_row: int) -> None:
        """Double-click without a mouse (tests, keyboard)."""
        self._activated(self.proxy.index(view_row, 0))
