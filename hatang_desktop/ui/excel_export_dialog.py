"""File > Xuất sổ Excel: the department workbook for the whole province or one commune.

With "Kèm ảnh" checked (File > Xuất gói cho Sở… opens the dialog so), the same export writes the
sync package instead: a .zip with the workbook, its records' photos and a sha256 manifest
(core/exchange/package.py). The export runs as a background job (ui/jobs.py) with its own read-only
Database (the map keeps its own connection); progress comes back through signals and the counts
are shown at the end.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton,
                               QRadioButton, QVBoxLayout, QWidget)

from . import file_dialogs
from .excel_common import record_label
from .jobs import Job, press_cancel, start_job
from .strings import format_int, format_number, message_text, tr
from .loader import as_target, sibling_file, target_stem

class ExcelExportDialog(QDialog):
    exported = Signal(object)  # ExportResult
    cancelled = Signal()       # stopped by Cancel: no file written

    def __init__(self, db_path: str | Path, communes: list[tuple[str, str]], parent=None, *,
                 package: bool = False) -> None:
        super().__init__(parent)
        self.db_path = as_target(db_path)
        self.result = None
        self.error: str | None = None
        self._job = None
        self.setWindowTitle(tr("xl_package_title" if package else "xl_export_title"))
        self.setMinimumWidth(560)
        self.province = QRadioButton(tr("xl_scope_province"))
        self.one_commune = QRadioButton(tr("xl_scope_commune"))
        self.province.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.province)
        group.addButton(self.one_commune)
        self.commune = QComboBox()
        for code, name in sorted(communes, key=lambda c: c[1]):
            self.commune.addItem(f"{name} ({code})", code)
        self.commune.setEnabled(False)
        self.one_commune.toggled.connect(self.commune.setEnabled)
        scope = QWidget()
        scope_layout = QVBoxLayout(scope)
        scope_layout.setContentsMargins(0, 0, 0, 0)
        scope_layout.addWidget(self.province)
        row = QHBoxLayout()
        row.addWidget(self.one_commune)
        row.addWidget(self.commune, 1)
        scope_layout.addLayout(row)
        self.path_edit = QLineEdit(sibling_file(self.db_path, target_stem(self.db_path) + "_so_excel.xlsx"))
        # The sync package: the workbook, its photos and their sha256, in one .zip.
        self.package = QCheckBox(tr("xl_package_check"))
        self.package.toggled.connect(self._package_toggled)
        choose = QPushButton(tr("xl_choose"))
        choose.clicked.connect(self.choose_file)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(choose)
        form = QFormLayout()
        form.addRow(tr("xl_scope"), scope)
        form.addRow(tr("xl_file"), file_row)
        form.addRow("", self.package)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.export_button = buttons.addButton(tr("xl_export_button"), QDialogButtonBox.ButtonRole.AcceptRole)
        close = buttons.addButton(tr("xl_close"), QDialogButtonBox.ButtonRole.RejectRole)
        self.export_button.clicked.connect(lambda: self.start_export())
        close.clicked.connect(self.reject)
        self.cancel_button = buttons.addButton(tr("job_cancel"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.package.setChecked(package)

    def _package_toggled(self, on: bool) -> None:
        """The suffix follows the choice: .zip for the package, .xlsx for the workbook alone."""
        self.setWindowTitle(tr("xl_package_title" if on else "xl_export_title"))
        text = self.path_edit.text().strip()
        if text:
            path = Path(text)
            if path.suffix.lower() in (".xlsx", ".zip", ""):
                self.path_edit.setText(str(path.with_suffix(".zip" if on else ".xlsx")))

    def choose_file(self) -> None:
        suffix, name_filter = (".zip", tr("xl_package_filter")) if self.package.isChecked() else (".xlsx", tr("xl_filter"))
        path, _ = file_dialogs.save_file_name(self, self.windowTitle(), self.path_edit.text(), name_filter)
        if path:
            self.path_edit.setText(path if path.lower().endswith(suffix) else path + suffix)

    def set_scope(self, commune_code: str | None) -> None:
        if commune_code is None:
            self.province.setChecked(True)
            return
        self.one_commune.setChecked(True)
        self.commune.setCurrentIndex(self.commune.findData(commune_code))

    def take_view_scope(self, scope) -> None:
        """Defaults from the map (ui/view_scope.py): the commune chosen in the toolbar becomes the
        scope; one merely in view is the commune offered, the scope staying the province."""
        if scope.commune is None or self.commune.findData(scope.commune) < 0:
            return
        if scope.chosen:
            self.set_scope(scope.commune)
        else:
            self.commune.setCurrentIndex(self.commune.findData(scope.commune))

    def start_export(self, path: str | Path | None = None) -> Job | None:
        """Export in the background; `exported` (or an error message) when done."""
        from hatang_desktop.core.exchange.export import export_workbook
        from hatang_desktop.core.exchange.package import export_package
        from hatang_desktop.core.storage.targets import open_for_exchange

        if path is not None:
            self.path_edit.setText(str(path))
        out = self.path_edit.text().strip()
        package = self.package.isChecked()
        if not out:
            self._show_error(tr("xl_no_package_file" if package else "xl_no_file"))
            return None
        commune = self.commune.currentData() if self.one_commune.isChecked() else None
        db_path = self.db_path

        def work(progress, cancel):
            # A Cancel stops the export at its next sheet or photo; the file is published only whole.
            with open_for_exchange(db_path) as db:
                if package:
                    return export_package(db, out, commune=commune, progress=progress, cancel=cancel)
                return export_workbook(db, out, commune=commune, progress=progress, cancel=cancel)

        self.result, self.error = None, None
        self.export_button.setEnabled(False)
        self.bar.setValue(0)
        self.bar.show()
        self.status.setStyleSheet("")
        self.status.setText(tr("xl_exporting"))
        self._job = start_job(work, self._done, self._failed, self.bar, self._cancelled)
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        return self._job

    def cancel_job(self) -> None:
        """Cancel pressed: the export stops at its next step; nothing is published."""
        press_cancel(self._job, self.cancel_button, self.status)

    def _cancelled(self) -> None:
        self.cancel_button.hide()
        self.export_button.setEnabled(True)
        self.bar.hide()
        self.status.setStyleSheet("")
        self.status.setText(tr("job_cancelled"))
        self.cancelled.emit()

    def _done(self, result) -> None:
        self.result = result
        self.cancel_button.hide()
        self.export_button.setEnabled(True)
        self.bar.setValue(100)
        book = getattr(result, "workbook", result)   # a PackageResult holds the workbook's ExportResult
        total = format_int(sum(book.rows.values()))
        if book is result:
            lines = [tr("xl_exported", total=total, name=Path(result.path).name)]
        else:
            lines = [tr("xl_package_exported", name=Path(result.path).name, total=total,
                        photos=format_int(result.photos), size=f"{format_number(result.size / 1e6, 1)} MB")]
        lines += [f"  • {record_label(r)}: {format_int(n)}" for r, n in book.rows.items()]
        lines.append("  • " + (tr("xl_photos_missing_line", n=format_int(book.photos), missing=format_int(book.photos_missing))
                               if book.photos_missing else tr("xl_photos_line", n=format_int(book.photos))))
        if book is not result and result.not_included:
            lines.append(tr("xl_not_included", n=format_int(len(result.not_included))))
        self.status.setText("\n".join(lines))
        self.message = QMessageBox(QMessageBox.Icon.Information, self.windowTitle(), "\n".join(lines),
                                   QMessageBox.StandardButton.Ok, self)
        self.message.open()  # not exec(): the dialog and the tests keep running
        self.exported.emit(result)

    def _failed(self, exc) -> None:
        self.cancel_button.hide()
        self.export_button.setEnabled(True)
        self.bar.hide()
        self._show_error(f"{tr('xl_export_failed')}: {message_text(exc)}")

    def _show_error(self, text: str) -> None:
        self.error = text
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(text)
