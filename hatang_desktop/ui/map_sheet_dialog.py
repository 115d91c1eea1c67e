"""Tệp > In bản đồ…: the printed map sheet of one commune (core/reports/map_sheet.py) from the app.

The commune in view is proposed; paper, grid and the open basemap are chosen; the PDF is written
as a background job (ui/jobs.py) with the dialog's own database connection, the same call as
`hatang report map`, so the sheet from the menu and the one from the command line are the same.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from . import file_dialogs
from .loader import sibling_file
from .report_dialog import ReportDialog
from .strings import tr

GRIDS = (("wgs84", "mapsheet_grid_wgs84"), ("vn2000", "mapsheet_grid_vn2000"))


class MapSheetDialog(ReportDialog):
    def __init__(self, target: str, communes: list[tuple[str, str]], basemap_path: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(tr("mapsheet_title"), sibling_file(target, "ban_do.pdf"), tr("mapsheet_browse"),
                         tr("mapsheet_write"), parent)
        self.target, self.basemap_path = target, basemap_path
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
        self.form.addRow(tr("mapsheet_commune"), self.commune)
        self.form.addRow(tr("mapsheet_paper"), self.paper)
        self.form.addRow(tr("mapsheet_grid"), self.grid)
        self.form.addRow("", self.basemap)
        self.form.addRow(tr("mapsheet_file"), self.file_row)
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

        self.run(lambda: write_report("map", self.target, out, commune=code, paper=paper, grid=grid,
                                      basemap=basemap), tr("mapsheet_working"), out)

    def done_text(self, summary: dict) -> str:
        return tr("mapsheet_done", path=summary["out"], scale=f"{summary['scale']:,}".replace(",", "."))
