"""The style of one reference layer: colour, line width, fill and its opacity, label field.

Opened from the layer panel (double-click on the layer's row, or its context menu). The map
shows each change at once (`preview`), so the user sees what a colour does over the basemap;
Cancel puts the style back as it was.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QColorDialog, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget)

from hatang_desktop.core.reflayers import RefLayer

from .strings import tr


class ReferenceStyleDialog(QDialog):
    preview = Signal(object)  # the RefLayer as the widgets now say

    def __init__(self, entry: RefLayer, fields: list[str] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("ref_style_title", name=entry.name))
        self.setMinimumWidth(340)
        self.entry = entry
        self.colour = QPushButton()
        self.colour.clicked.connect(self.choose_colour)
        self._colour = entry.colour
        self.width = QDoubleSpinBox()
        self.width.setRange(0.5, 20.0)
        self.width.setSingleStep(0.5)
        self.width.setDecimals(1)
        self.width.setSuffix(" px")
        self.width.setValue(entry.width)
        self.fill = QCheckBox(tr("ref_style_fill"))
        self.fill.setChecked(entry.fill)
        # Only as wide as its box and text: a click on the empty rest of the row does nothing.
        self.fill.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(entry.opacity * 100))
        self.opacity_text = QLabel()
        self.label = QComboBox()
        self.label.addItem(tr("ref_style_no_label"), None)
        for name in fields or []:
            self.label.addItem(name, name)
        if entry.label and entry.label in (fields or []):
            self.label.setCurrentIndex(self.label.findData(entry.label))
        form = QFormLayout()
        raster = fields is None
        if not raster:
            form.addRow(tr("ref_style_colour"), self.colour)
            form.addRow(tr("ref_style_width"), self.width)
            form.addRow("", self.fill)
        form.addRow(tr("ref_style_opacity"), self.opacity)
        form.addRow("", self.opacity_text)
        if not raster:
            form.addRow(tr("ref_style_label"), self.label)
        where = QLabel(entry.path + (f" — {entry.layer}" if entry.layer else ""))
        where.setWordWrap(True)
        where.setStyleSheet("color: #555")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(where)
        layout.addLayout(form)
        layout.addWidget(buttons)
        for signal in (self.width.valueChanged, self.fill.toggled, self.opacity.valueChanged,
                       self.label.currentIndexChanged):
            signal.connect(self._changed)
        self._show_colour()
        self._show_opacity()

    def result_entry(self) -> RefLayer:
        return replace(self.entry, colour=self._colour, width=float(self.width.value()), fill=self.fill.isChecked(),
                       opacity=self.opacity.value() / 100, label=self.label.currentData())

    def set_colour(self, colour: str) -> None:
        self._colour = QColor(colour).name()
        self._show_colour()
        self._changed()

    def choose_colour(self) -> None:
        chosen = QColorDialog.getColor(QColor(self._colour), self, tr("ref_style_colour"))
        if chosen.isValid():
            self.set_colour(chosen.name())

    def _show_colour(self) -> None:
        self.colour.setText(self._colour)
        text = "#000000" if QColor(self._colour).lightnessF() > 0.55 else "#ffffff"
        self.colour.setStyleSheet(f"background: {self._colour}; color: {text}; padding: 3px 12px")

    def _show_opacity(self) -> None:
        self.opacity.setEnabled(self.fill.isChecked() or self.entry.raster)
        self.opacity_text.setText(tr("ref_style_opacity_value", percent=self.opacity.value()))

    def _changed(self, *_args) -> None:
        self._show_opacity()
        self.preview.emit(self.result_entry())
