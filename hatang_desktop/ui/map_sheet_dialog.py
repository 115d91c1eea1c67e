"""Tệp > In bản đồ…: the printed map sheet of one commune (core/reports/map_sheet.py) from the app.

The commune in view is proposed; paper, grid and the open basemap are chosen; the PDF is written
as a background job (ui/jobs.py) with the dialog's own database connection, the same call as
`hatang report map`, so the sheet from the menu and the one from the command line are the same.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from . import file_dialogs
from .jobs import Job, start_job
from .loader import sibling_file
from .strings import message_text, tr

GRIDS = (("wgs84", "mapsheet_grid_wgs84"), ("vn2000", "mapsheet_grid_vn2000"))


class MapSheetDialog(QDialog):
    written = Signal(str)  # the PDF's path, once it is complete

    def __init__(self, target: str, communes: list[tuple[str, str]], basemap_path: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("mapsheet_title"))
        self.target, self.basemap_path = target, basemap_path
        self._job: Job | None = None
        self.commune = QComboBox()
        for code, name in communes:
            self.commune.addItem(f"{name} ({code})", code)
        self.paper = QComboBox()
        for paper in ("A4", "A3"):
            self.paper.addItem(tr("mapsheet_paper_item", paper=paper), paper)
        self.grid = QComboBox()
        for code, key in GRIDS:
            self.grid.addItem(tr(key), code)
        self.basemap = QCheckBox(tr("mapsheet_basemap"))
        self.basemap.setEnabled(basemap_path is not None)
        self.basemap.setChecked(basemap_path is not None)
        self.path = QLineEdit(sibling_file(target, "ban_do.pdf"))
        browse = QPushButton(tr("mapsheet_browse"))
        browse.clicked.connect(self.choose_file)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.path, 1)
        row_layout.addWidget(browse)
        form = QFormLayout()
        form.addRow(tr("mapsheet_commune"), self.commune)
        form.addRow(tr("mapsheet_paper"), self.paper)
        form.addRow(tr("mapsheet_grid"), self.grid)
        form.addRow("", self.basemap)
        form.addRow(tr("mapsheet_file"), row)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # one step: the sheet is drawn in a second or two
        self.bar.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.write_button = self.buttons.addButton(tr("mapsheet_write"), QDialogButtonBox.ButtonRole.ActionRole)
        self.write_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def take_commune(self, code: str | None) -> None:
        index = self.commune.findData(code) if code else -1
        if index >= 0:
            self.commune.setCurrentIndex(index)

    def choose_file(self) -> None:
        path, _ = file_dialogs.save_file_name(self, tr("mapsheet_title"), self.path.text(), tr("mapsheet_filter"))
        if path:
            self.path.setText(path if Path(path).suffix else path + ".pdf")

    def start(self) -> None:
        from hatang_desktop.core.reports import write_report

        out = Path(self.path.text().strip())
        if out.suffix.lower() != ".pdf":
            out = out.with_suffix(".pdf")
            self.path.setText(str(out))
        code, paper, grid = self.commune.currentData(), self.paper.currentData(), self.grid.currentData()
        basemap = self.basemap_path if self.basemap.isChecked() else None

        def work(_progress, _cancelled):
            return write_report("map", self.target, out, commune=code, paper=paper, grid=grid, basemap=basemap)

        self.write_button.setEnabled(False)
        self.bar.show()
        self.message.setText(tr("mapsheet_working"))
        self._job = start_job(work, self._done, self._failed, fault_path=out)

    def _done(self, summary: dict) -> None:
        self.bar.hide()
        self.write_button.setEnabled(True)
        self.message.setText(tr("mapsheet_done", path=summary["out"],
                                scale=f"{summary['scale']:,}".replace(",", ".")))
        self.written.emit(summary["out"])

    def _failed(self, exc) -> None:
        self.bar.hide()
        self.write_button.setEnabled(True)
        self.message.setText("")
        QMessageBox.warning(self, tr("mapsheet_title"), message_text(exc))
