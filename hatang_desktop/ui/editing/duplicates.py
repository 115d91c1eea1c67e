"""The duplicate guard's question: which site it looks like, why, and what to do.

A same-code site cannot be saved twice (the database keeps one live site per operator and code),
so that case offers only going back or opening the existing site; a site within 10 m may really
be another one, so "Save anyway" is offered too."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from hatang_desktop.core.editing import Duplicate
from hatang_desktop.core.operators import BY_CODE

from ..map.overlays import format_distance
from ..strings import tr

SAVE, OPEN, BACK = "save", "open", "back"


class DuplicateDialog(QDialog):
    def __init__(self, duplicates: list[Duplicate], parent=None) -> None:
        super().__init__(parent)
        self.duplicates = duplicates
        self.choice = BACK
        self.setWindowTitle(tr("dup_title"))
        op = BY_CODE.get(duplicates[0].operator_code)
        intro = QLabel(f"<b>{escape(tr('dup_intro', operator=op.brand if op else duplicates[0].operator_code))}</b>")
        intro.setWordWrap(True)
        table = QTableWidget(len(duplicates), 3)
        table.setHorizontalHeaderLabels([tr("dup_col_code"), tr("dup_col_name"), tr("dup_col_why")])
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        for i, d in enumerate(duplicates):
            why = [tr("dup_same_code", code=d.site_code)] if d.same_code else []
            if d.distance_m == d.distance_m:  # not NaN
                why.append(tr("dup_near", distance=format_distance(d.distance_m)))
            for j, text in enumerate((d.site_code, d.name or "", "; ".join(why))):
                table.setItem(i, j, QTableWidgetItem(text))
        table.setMaximumHeight(36 + 30 * min(len(duplicates), 5))
        self.blocking = any(d.blocking for d in duplicates)
        advice = QLabel(tr("dup_blocking") if self.blocking else tr("dup_question"))
        advice.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.back_button = QPushButton(tr("dup_back"))
        self.open_button = QPushButton(tr("dup_open_existing"))
        self.save_button = QPushButton(tr("dup_save_anyway"))
        buttons.addButton(self.back_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        if not self.blocking:
            buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.back_button.setDefault(True)
        self.back_button.clicked.connect(lambda: self._choose(BACK))
        self.open_button.clicked.connect(lambda: self._choose(OPEN))
        self.save_button.clicked.connect(lambda: self._choose(SAVE))
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(table)
        lay.addWidget(advice)
        lay.addWidget(buttons)
        self.table = table
        self.resize(560, 260)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept() if choice != BACK else self.reject()

    def ask(self) -> str:
        self.exec()
        return self.choice
