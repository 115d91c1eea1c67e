"""Settings (Tệp > Thiết lập): the preferences a commune official may need to change."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from hatang_desktop.core.operators import OPERATORS, UNKNOWN

from . import file_dialogs
from .preferences import COORD_DISPLAYS, Preferences
from .strings import LANGUAGES, language_name, tr


class SettingsDialog(QDialog):
    def __init__(self, prefs: Preferences, parent=None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.setWindowTitle(tr("settings_title"))
        self.setMinimumWidth(480)
        form = QFormLayout()

        self.language = QComboBox()
        for code in LANGUAGES:
            self.language.addItem(language_name(code), code)
        self.language.setCurrentIndex(max(0, self.language.findData(prefs.language)))
        form.addRow(tr("set_language"), self.language)
        note = QLabel(tr("set_language_note"))
        note.setStyleSheet("color: #555")
        note.setWordWrap(True)
        form.addRow("", note)

        self.user = QLineEdit(prefs.user_name)
        form.addRow(tr("set_user"), self.user)

        self.operator = QComboBox()
        self.operator.addItem(tr("set_operator_none"), "")
        for op in OPERATORS:
            if op.code != UNKNOWN:  # only a site to verify may have it: never a default for new sites
                self.operator.addItem(op.brand, op.code)
        self.operator.setCurrentIndex(max(0, self.operator.findData(prefs.default_operator)))
        form.addRow(tr("set_operator"), self.operator)

        self.gps_source = QLineEdit(prefs.gps_source)
        self.gps_source.setPlaceholderText("COM3, /dev/ttyUSB0, walk.nmea")
        browse = QPushButton(tr("browse"))
        browse.clicked.connect(self._browse_gps)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.gps_source, 1)
        box.addWidget(browse)
        form.addRow(tr("set_gps_source"), row)

        self.gps_accuracy = QDoubleSpinBox()
        self.gps_accuracy.setRange(0.5, 500.0)
        self.gps_accuracy.setDecimals(1)
        self.gps_accuracy.setSuffix(tr("set_unit_m"))
        self.gps_accuracy.setValue(prefs.gps_accuracy_m)
        form.addRow(tr("set_gps_accuracy"), self.gps_accuracy)

        self.photo_edge = QSpinBox()
        self.photo_edge.setRange(320, 8192)
        self.photo_edge.setSingleStep(256)
        self.photo_edge.setSuffix(tr("set_unit_px"))
        self.photo_edge.setValue(prefs.photo_max_edge_px)
        form.addRow(tr("set_photo_edge"), self.photo_edge)

        self.backups = QSpinBox()
        self.backups.setRange(1, 100)
        self.backups.setValue(prefs.backup_keep)
        form.addRow(tr("set_backup_keep"), self.backups)

        self.coords = QComboBox()
        for code in COORD_DISPLAYS:
            self.coords.addItem(tr(f"coords_{code}"), code)
        self.coords.setCurrentIndex(max(0, self.coords.findData(prefs.coord_display)))
        form.addRow(tr("set_coords"), self.coords)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse_gps(self) -> None:
        path, _ = file_dialogs.open_file_name(self, tr("set_gps_source"), "", "NMEA (*.nmea *.txt *.log);;* (*)")
        if path:
            self.gps_source.setText(path)

    def apply(self) -> Preferences:
        """Copy the widgets into the preferences and save them."""
        p = self.prefs
        p.language = self.language.currentData()
        p.user_name = self.user.text().strip()
        p.default_operator = self.operator.currentData()
        p.gps_source = self.gps_source.text().strip()
        p.gps_accuracy_m = self.gps_accuracy.value()
        p.photo_max_edge_px = self.photo_edge.value()
        p.backup_keep = self.backups.value()
        p.coord_display = self.coords.currentData()
        p.save()
        return p

    def accept(self) -> None:
        self.apply()
        super().accept()
