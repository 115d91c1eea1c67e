"""Filter by operator and technology: a combo and four toggle buttons above the layer list."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QToolButton, QWidget

from hatang_desktop.core.domain import TECHNOLOGIES

from .map.layers import NO_FILTER, LayerFilter
from .map.style import operator_brand
from .strings import tr


class FilterBox(QWidget):
    filter_changed = Signal(object)  # LayerFilter

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setToolTip(tr("filter_tip"))
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(4)
        self.operator_combo = QComboBox()
        self.operator_combo.addItem(tr("filter_all_operators"), None)
        self.tech_buttons: dict[str, QToolButton] = {}
        grid.addWidget(QLabel(tr("filter_operator")), 0, 0)
        grid.addWidget(self.operator_combo, 0, 1, 1, len(TECHNOLOGIES))
        grid.addWidget(QLabel(tr("filter_technology")), 1, 0)
        for i, tech in enumerate(TECHNOLOGIES):
            button = QToolButton()
            button.setText(tech)
            button.setCheckable(True)
            button.setChecked(True)
            button.setMinimumWidth(40)
            button.toggled.connect(self._emit)
            self.tech_buttons[tech] = button
            grid.addWidget(button, 1, 1 + i)
        grid.setColumnStretch(len(TECHNOLOGIES), 1)
        self.operator_combo.currentIndexChanged.connect(self._emit)

    def set_operators(self, codes: list[str]) -> None:
        """The operators present in the database (a new database resets the filter)."""
        self.operator_combo.blockSignals(True)
        self.operator_combo.clear()
        self.operator_combo.addItem(tr("filter_all_operators"), None)
        for code in codes:
            self.operator_combo.addItem(operator_brand(code), code)
        self.operator_combo.setCurrentIndex(0)
        self.operator_combo.blockSignals(False)
        for button in self.tech_buttons.values():
            button.blockSignals(True)
            button.setChecked(True)
            button.blockSignals(False)

    def current(self) -> LayerFilter:
        code = self.operator_combo.currentData()
        techs = frozenset(t for t, b in self.tech_buttons.items() if b.isChecked())
        return LayerFilter(operators=frozenset([code]) if code else None,
                           technologies=None if len(techs) == len(TECHNOLOGIES) else techs)

    def set_operator(self, code: str | None) -> None:
        index = self.operator_combo.findData(code) if code else 0
        self.operator_combo.setCurrentIndex(max(index, 0))

    def reset(self) -> None:
        self.set_operators([self.operator_combo.itemData(i) for i in range(1, self.operator_combo.count())])
        self.filter_changed.emit(NO_FILTER)

    def _emit(self, *_args) -> None:
        self.filter_changed.emit(self.current())
