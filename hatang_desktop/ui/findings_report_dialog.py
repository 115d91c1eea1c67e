"""Tệp > Báo cáo kết quả kiểm tra…: the findings report (core/reports/findings.py) from the app.

The scope is chosen as on the command line (`hatang report findings DB OUT --commune --operator
--severity --details`): the commune in view is proposed, operator and severity start at "all",
and the individual findings are listed, by default, only for a narrowed scope. The file is
written as a background job (ui/jobs.py) by the same call as the command, so the report from
the menu and the one from the command line are the same.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QWidget

from hatang_desktop.core import schema
from hatang_desktop.core.operators import OPERATORS

from . import file_dialogs
from .loader import sibling_file
from .record_text import value_label
from .report_dialog import ReportDialog
from .strings import format_int, tr

DETAILS = (("auto", "findrep_details_auto"), ("all", "findrep_details_all"), ("none", "findrep_details_none"))


class FindingsReportDialog(ReportDialog):
    def __init__(self, target: str, communes: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(tr("findrep_title"), sibling_file(target, "bao_cao_kiem_tra.pdf"), tr("findrep_browse"),
                         tr("findrep_write"), parent)
        self.target = target
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
        self.path.textChanged.connect(self._follow_kind)
        self.form.addRow(tr("findrep_commune"), self.commune)
        self.form.addRow(tr("findrep_operator"), self.operator)
        self.form.addRow(tr("findrep_severity"), self.severity)
        self.form.addRow(tr("findrep_details"), self.details)
        self.form.addRow(tr("findrep_file"), self.file_row)
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

        self.run(lambda: write_report("findings", self.target, out, **options), tr("findrep_working"), out)

    def done_text(self, summary: dict) -> str:
        active = format_int(summary["active"])
        if "pages" in summary:
            return tr("findrep_done_pdf", path=summary["out"], pages=format_int(summary["pages"]), active=active)
        return tr("findrep_done_xlsx", path=summary["out"], active=active)
