"""Tệp > Báo cáo kết quả kiểm tra…: the findings report (core/reports/findings.py) from the app.

The scope is chosen as on the command line (`hatang report findings DB OUT --commune --operator
--severity --details`): the commune in view is proposed, operator and severity start at "all",
and the individual findings are listed, by default, only for a narrowed scope. The file is
written as a background job (ui/jobs.py) by the same call as the command, so the report from
the menu and the one from the command line are the same.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from hatang_desktop.core import schema
from hatang_desktop.core.operators import OPERATORS

from . import file_dialogs
from .jobs import Job, start_job
from .loader import sibling_file
from .record_text import value_label
from .strings import format_int, message_text, tr

DETAILS = (("auto", "findrep_details_auto"), ("all", "findrep_details_all"), ("none", "findrep_details_none"))


class FindingsReportDialog(QDialog):
    written = Signal(str)  # the report's path, once it is complete

    def __init__(self, target: str, communes: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("findrep_title"))
        self.target = target
        self._job: Job | None = None
        self.commune = QComboBox()
        self.commune.addItem(tr("findrep_all_communes"), None)
        for code, name in communes:
            self.commune.addItem(f"{name} ({code})", code)
        self.operator = QComboBox()
        self.operator.addItem(tr("findrep_all_operators"), None)
        for op in OPERATORS:
            self.operator.addItem(f"{op.brand} ({op.code})", op.code)
        self.severity = QComboBox()
        self.severity.addItem(tr("findrep_all_severities"), None)
        for code in reversed(schema.forms().lists["severities"].codes):  # the gravest first
            self.severity.addItem(value_label("findings", "severity", code), code)
        self.details = QComboBox()
        for code, key in DETAILS:
            self.details.addItem(tr(key), code)
        self.path = QLineEdit(sibling_file(target, "bao_cao_kiem_tra.pdf"))
        self.path.textChanged.connect(self._follow_kind)
        browse = QPushButton(tr("findrep_browse"))
        browse.clicked.connect(self.choose_file)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.path, 1)
        row_layout.addWidget(browse)
        form = QFormLayout()
        form.addRow(tr("findrep_commune"), self.commune)
        form.addRow(tr("findrep_operator"), self.operator)
        form.addRow(tr("findrep_severity"), self.severity)
        form.addRow(tr("findrep_details"), self.details)
        form.addRow(tr("findrep_file"), row)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # one step: a few seconds even for the whole province's listing
        self.bar.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.write_button = self.buttons.addButton(tr("findrep_write"), QDialogButtonBox.ButtonRole.ActionRole)
        self.write_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    def take_commune(self, code: str | None) -> None:
        index = self.commune.findData(code) if code else -1
        if index >= 0:
            self.commune.setCurrentIndex(index)

    def _follow_kind(self, text: str) -> None:
        # A workbook always lists every finding of its scope (it is filtered, not paged).
        self.details.setEnabled(not text.strip().lower().endswith(".xlsx"))

    def choose_file(self) -> None:
        path, chosen = file_dialogs.save_file_name(self, tr("findrep_title"), self.path.text(), tr("findrep_filter"))
        if path:
            self.path.setText(path if Path(path).suffix else path + (".xlsx" if "xlsx" in chosen else ".pdf"))

    def start(self) -> None:
        from hatang_desktop.core.reports import write_report

        out = Path(self.path.text().strip())
        if out.suffix.lower() not in (".pdf", ".xlsx"):
            out = out.with_suffix(".pdf")
            self.path.setText(str(out))
        options = {"commune": self.commune.currentData(), "operator": self.operator.currentData(),
                   "severity": self.severity.currentData(), "details": self.details.currentData()}

        def work(_progress, _cancelled):
            return write_report("findings", self.target, out, **options)

        self.write_button.setEnabled(False)
        self.bar.show()
        self.message.setText(tr("findrep_working"))
        self._job = start_job(work, self._done, self._failed, fault_path=out)

    def _done(self, summary: dict) -> None:
        self.bar.hide()
        self.write_button.setEnabled(True)
        active = format_int(summary["active"])
        if "pages" in summary:
            text = tr("findrep_done_pdf", path=summary["out"], pages=format_int(summary["pages"]), active=active)
        else:
            text = tr("findrep_done_xlsx", path=summary["out"], active=active)
        self.message.setText(text)
        self.written.emit(summary["out"])

    def _failed(self, exc) -> None:
        self.bar.hide()
        self.write_button.setEnabled(True)
        self.message.setText("")
        QMessageBox.warning(self, tr("findrep_title"), message_text(exc))
