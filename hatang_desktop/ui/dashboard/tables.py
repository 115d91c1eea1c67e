"""Tables in the dashboard dock that fit its width: no sideways scrolling in a dock a third of a
laptop screen wide. Text columns share the room and elide (the whole text in the cell's
tooltip); number columns are as wide as their numbers; headers wrap onto two lines."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget

ROW_PX = 22  # compact rows, as the attribute table's


def fit_columns(table: QTableWidget, stretch: tuple[int, ...], min_px: int = 36) -> None:
    """Columns that never add up to more than the table's width: the `stretch` ones share what
    the others (sized to their contents) leave."""
    header = table.horizontalHeader()
    header.setMinimumSectionSize(min_px)
    for col in range(table.columnCount()):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch if col in stretch
                                    else QHeaderView.ResizeMode.ResizeToContents)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(ROW_PX)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)


def two_line_headers(table: QTableWidget, labels: list[str]) -> None:
    """Header labels with their unit on a second line ("Khoảng cách\\n(km)"): a number column
    is then as narrow as its numbers, not as its label."""
    table.setHorizontalHeaderLabels([label.replace(" (", "\n(") for label in labels])
    header = table.horizontalHeader()
    header.setFixedHeight(header.fontMetrics().height() * 2 + 12)
    for col, label in enumerate(labels):
        table.horizontalHeaderItem(col).setToolTip(label)
