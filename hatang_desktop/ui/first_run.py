"""The first-run wizard: who you are, where you survey, and which data to open.

Three short pages, because a commune official meets this once and must come out of it with a
map of their own commune: their name (it goes to `updated_by` on every change) and language; the
province and commune from the 2025 administrative units; then the sample to learn on, or a new
empty database for that commune (core `init_province_database`, the same as `hatang init`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QRadioButton, QVBoxLayout, QWidget, QWizard, QWizardPage)

from hatang_desktop.core.admin_units import communes, provinces
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.text import fold_place
from hatang_desktop.paths import user_data_dir

from . import file_dialogs
from .preferences import Preferences
from .strings import LANGUAGES, language_name, message_text, tr


class _YouPage(QWizardPage):
    def __init__(self, prefs: Preferences) -> None:
        super().__init__()
        self.setTitle(tr("wizard_you_title"))
        self.setSubTitle(tr("wizard_you_sub"))
        form = QFormLayout(self)
        self.name = QLineEdit(prefs.user_name)
        self.name.setPlaceholderText(tr("wizard_name_placeholder"))
        form.addRow(tr("set_user"), self.name)
        # Said, not a silently greyed "Next": without a name every change is logged as the
        # computer's account and the department cannot tell who surveyed what.
        self.name_message = QLabel(tr("wizard_name_required"))
        self.name_message.setStyleSheet("color: #b00020")
        self.name_message.setWordWrap(True)
        self.name_message.hide()
        form.addRow("", self.name_message)
        self.name.textChanged.connect(lambda text: self.name_message.setVisible(False) if text.strip() else None)
        self.language = QComboBox()
        for code in LANGUAGES:
            self.language.addItem(language_name(code), code)
        self.language.setCurrentIndex(max(0, self.language.findData(prefs.language)))
        form.addRow(tr("set_language"), self.language)

    def validatePage(self) -> bool:  # noqa: N802 (Qt API)
        """Next (or Finish) with no name: refused, with the reason under the field."""
        if self.name.text().strip():
            return True
        self.name_message.show()
        self.name.setFocus()
        return False


class _PlacePage(QWizardPage):
    def __init__(self, prefs: Preferences) -> None:
        super().__init__()
        self.setTitle(tr("wizard_place_title"))
        self.setSubTitle(tr("wizard_place_sub"))
        form = QFormLayout(self)
        self.province = QComboBox()
        for p in sorted(provinces(), key=lambda p: fold_place(p.name)):
            self.province.addItem(p.name, p.code)
        self.commune = QComboBox()
        # Typing part of a name (with or without diacritics) finds the commune among ~100.
        self.commune.setEditable(True)
        self.commune.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.province.currentIndexChanged.connect(self._fill_communes)
        form.addRow(tr("wizard_province"), self.province)
        form.addRow(tr("wizard_commune"), self.commune)
        start = self.province.findData(prefs.province_code or "42")
        self.province.setCurrentIndex(max(0, start))
        self._fill_communes()
        if prefs.commune_code:
            self.commune.setCurrentIndex(max(0, self.commune.findData(prefs.commune_code)))
        self.commune.currentIndexChanged.connect(self.completeChanged)

    def _fill_communes(self) -> None:
        self.commune.clear()
        for c in sorted(communes(self.province.currentData()), key=lambda c: fold_place(c.name)):
            self.commune.addItem(c.name, c.code)

    def isComplete(self) -> bool:
        return self.commune.currentData() is not None


class _DataPage(QWizardPage):
    def __init__(self, place: _PlacePage) -> None:
        super().__init__()
        self.place = place
        self.setTitle(tr("wizard_data_title"))
        self.setSubTitle(tr("wizard_data_sub"))
        layout = QVBoxLayout(self)
        self.sample = QRadioButton(tr("wizard_open_sample"))
        self.create = QRadioButton()
        group = QButtonGroup(self)
        group.addButton(self.sample)
        group.addButton(self.create)
        self.sample.setChecked(True)
        layout.addWidget(self.sample)
        layout.addWidget(self.create)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(24, 0, 0, 0)
        box.addWidget(QLabel(tr("wizard_new_path")))
        self.path = QLineEdit()
        box.addWidget(self.path, 1)
        browse = QPushButton(tr("browse"))
        browse.clicked.connect(self._browse)
        box.addWidget(browse)
        layout.addWidget(row)
        layout.addStretch(1)
        self.create.toggled.connect(row.setEnabled)
        row.setEnabled(False)

    def initializePage(self) -> None:
        name = self.place.commune.currentText()
        self.create.setText(tr("wizard_create_new", commune=name))
        stem = fold_place(name).replace(" ", "_") or "khao_sat"
        self.path.setText(str(user_data_dir() / f"{stem}.htdb"))

    def _browse(self) -> None:
        path, _ = file_dialogs.save_file_name(self, tr("wizard_new_path"), self.path.text(), tr("wizard_save_filter"))
        if path:
            self.path.setText(path)


class FirstRunWizard(QWizard):
    """Run with exec(); afterwards `database` is the file to open (None: the sample)."""

    def __init__(self, prefs: Preferences, parent=None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.database: Path | None = None
        self.setWindowTitle(tr("wizard_title"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setMinimumSize(620, 420)
        self.you = _YouPage(prefs)
        self.place = _PlacePage(prefs)
        self.data = _DataPage(self.place)
        for page in (self.you, self.place, self.data):
            self.addPage(page)

    def accept(self) -> None:
        if not self.you.validatePage():  # the name cleared after going back: ask again
            self.restart()
            self.you.validatePage()
            return
        if self.data.create.isChecked():
            path = Path(self.data.path.text().strip())
            if path.exists():
                QMessageBox.warning(self, tr("wizard_create_failed"), tr("wizard_exists", path=path))
                return
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = init_province_database(path, self.place.province.currentData(),
                                            commune=self.place.commune.currentData(),
                                            user=self.you.name.text().strip())
                db.close()
            except (HatangError, OSError) as exc:
                QMessageBox.critical(self, tr("wizard_create_failed"), f"{path}: {message_text(exc)}")
                return
            self.database = path
        p = self.prefs
        p.user_name = self.you.name.text().strip()
        p.language = self.you.language.currentData()
        p.province_code = self.place.province.currentData()
        p.commune_code = self.place.commune.currentData()
        p.first_run_done = True
        p.save()
        super().accept()
