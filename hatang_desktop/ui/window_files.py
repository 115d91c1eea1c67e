"""The main window's files besides the database: the basemap, map export, and the import and
export dialogs (GIS, Excel, the package for the department, conflicts)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.mbtiles import MBTiles, MBTilesError
from hatang_desktop.core.messages import Text

from . import file_dialogs
from .export import export_map
from .loader import same_target, sibling_file, target_of
from .settings import LAST_BASEMAP, app_settings
from .status_bar import STATUS_MESSAGE_MS
from .strings import message_text, tr
from .view_scope import commune_in_view


class WindowFiles:
    """Mixed into MainWindow: basemap, export and import actions of the File menu."""

    # -- basemap ---------------------------------------------------------------------------

    def choose_basemap(self) -> None:
        last = app_settings().value(LAST_BASEMAP, "")
        path, _ = file_dialogs.open_file_name(self, tr("act_open_basemap"), str(Path(last).parent) if last else "",
                                              tr("basemap_filter"))
        if path:
            self.open_basemap(path)

    def open_basemap(self, path: str | Path) -> bool:
        """Draw an MBTiles file under the layers; a bad file is a status-bar message, nothing more."""
        try:
            source = MBTiles(path)
        except MBTilesError as exc:
            self.statusBar().showMessage(tr("basemap_error", detail=message_text(exc)), STATUS_MESSAGE_MS)
            return False
        self.set_basemap(source)
        app_settings().setValue(LAST_BASEMAP, str(Path(path).resolve()))
        self.statusBar().showMessage(tr("basemap_opened", name=source.name, zmin=source.min_zoom,
                                        zmax=source.max_zoom), STATUS_MESSAGE_MS)
        return True

    def set_basemap(self, source: MBTiles | None) -> None:
        self.canvas.set_basemap(source)
        self.act_close_basemap.setEnabled(source is not None)
        if source is None:
            app_settings().remove(LAST_BASEMAP)

    def restore_basemap(self) -> bool:
        """Reopen the basemap of the last session, if it is still there."""
        last = app_settings().value(LAST_BASEMAP, "")
        return bool(last) and Path(last).is_file() and self.open_basemap(last)

    def download_basemap_dialog(self):
        """Tệp > Tải bản đồ nền…: the commune chosen (or in view) proposed; the file written becomes
        the basemap through open_basemap, as one opened by hand."""
        from hatang_desktop.core.basemap.sources import load_presets

        from .basemap_areas import download_areas
        from .basemap_download_dialog import BasemapDownloadDialog

        if self.db is None:
            return None
        try:
            presets, problem = [s for s in load_presets().values() if s.offline], ""
        except HatangError as exc:  # a broken sources file: the department's URL still works
            presets, problem = [], message_text(exc)
        areas, default = download_areas(self)
        dialog = BasemapDownloadDialog(target_of(self.db), areas, presets, default, self, presets_error=problem)
        dialog.downloaded.connect(self.open_basemap)
        dialog.show()
        return dialog

    def _basemap_problem(self, counts: str) -> None:
        """The basemap's missing and damaged tiles of the view now shown ("0/0" for none): a note
        about an earlier view is taken back, never left on the bar once the tiles are there."""
        missing, damaged = counts.split("/")
        bar = self.statusBar()
        if missing == "0" and damaged == "0":
            if bar.currentMessage() and bar.currentMessage() == getattr(self, "_basemap_note", None):
                bar.clearMessage()
            self._basemap_note = None
            return
        self._basemap_note = tr("basemap_problem", missing=missing, damaged=damaged)
        bar.showMessage(self._basemap_note, STATUS_MESSAGE_MS)

    # -- export ----------------------------------------------------------------------------

    def export_title(self) -> str:
        name = (self.info or {}).get("province", {}).get("name") or tr("app_title")
        return tr("export_title", name=name)

    def import_gis_data(self, path: str | Path | None = None):
        """File > Nhập dữ liệu GIS: the dialog writes through its own connection; the map shows what
        it changed and the import is one undo step (`imported`)."""
        from .gis_dialogs import GisImportDialog

        if self.db is None:
            return None
        dialog = GisImportDialog(target_of(self.db), self)
        dialog.imported.connect(lambda result: self.imported(dialog.db_path, result))
        if path:
            dialog.set_file(path)
        dialog.show()
        return dialog

    def export_excel(self, package: bool = False):
        """File > Xuất sổ Excel (its own read-only connection, on a worker)."""
        from .excel_export_dialog import ExcelExportDialog

        if self.db is None:
            return None
        dialog = ExcelExportDialog(target_of(self.db), [(c.code, c.name) for c in self.communes or ()], self,
                                   package=package)
        dialog.take_view_scope(commune_in_view(self))
        dialog.show()
        return dialog

    def export_package(self):
        """File > Xuất gói cho Sở: the Excel export dialog with "Kèm ảnh" checked (a .zip with the
        workbook, its photos and their sha256)."""
        return self.export_excel(package=True)

    def import_excel(self, path: str | Path | None = None):
        """File > Nhập sổ Excel: preview, then apply through its own connection; the map shows what it
        changed and the import is one undo step (`imported`)."""
        from .excel_import_dialog import ExcelImportDialog

        if self.db is None:
            return None
        dialog = ExcelImportDialog(target_of(self.db), self)
        dialog.imported.connect(lambda result: self.imported(dialog.db_path, result))
        if path:
            dialog.set_file(path)
        else:
            dialog.choose_file()
        dialog.show()
        return dialog

    def imported(self, path, result) -> None:
        """An import the dialogs wrote through their own connection: one undo step, and the map
        patched with what it changed (another file than the open one is opened instead)."""
        if not getattr(result, "applied", False):
            return
        if self.db is None or not same_target(path, target_of(self.db)):
            self.open_database(path)
            return
        self.editor.push_operation(result.changes, confirm_undo=True)

    def show_conflicts(self):
        from .conflict_dialog import ConflictDialog

        if self.db is None:
            return None
        dialog = ConflictDialog(target_of(self.db), self)
        dialog.resolved.connect(lambda _n: self.open_database(dialog.db_path))
        dialog.show()
        return dialog

    def sync_with_server(self):
        """File > Đồng bộ với máy chủ Sở: the address asked once (remembered in the file), then
        the sync as a job; what the pull wrote is announced (map and counts follow), and the
        conflict dialog opens when conflicts wait in the file."""
        from hatang_desktop.core.server.sync import META_URL

        from .sync_dialog import SyncDialog

        if self.db is None:
            return None
        if self.db.path is None:   # the app opened on the server itself: there is nothing to sync
            self.statusBar().showMessage(tr("sync_failed", message=message_text(Text(
                "đồng bộ cần một tệp của xã", "sync needs a commune's file"))), STATUS_MESSAGE_MS)
            return None
        remembered = self.db.meta(META_URL)
        dialog = SyncDialog(self.db.path, remembered, self)
        dialog.synced.connect(lambda result: self._synced(dialog, result))
        dialog.show()
        if remembered:
            dialog.start()
        return dialog

    def _synced(self, dialog, result) -> None:
        self.statusBar().showMessage(dialog.status.text(), STATUS_MESSAGE_MS)
        if self.db is None or Path(dialog.db_path).resolve() != Path(self.db.path).resolve():
            return
        self.data_events.announce(result.changes)
        if result.file_conflicts:
            self.show_conflicts()

    def export_gis_data(self):
        from .gis_dialogs import GisExportDialog

        if self.db is None:
            return None
        communes = [(c.code, c.name) for c in getattr(self, "communes", None) or ()]
        dialog = GisExportDialog(target_of(self.db), communes, self)
        dialog.take_view_scope(commune_in_view(self))
        dialog.show()
        return dialog

    def print_map_sheet(self):
        """Tệp > In bản đồ…: the commune in view proposed, the open basemap offered."""
        from .map_sheet_dialog import MapSheetDialog

        if self.db is None:
            return None
        communes = [(c.code, c.name) for c in getattr(self, "communes", None) or ()]
        source = self.canvas.basemap.source
        dialog = MapSheetDialog(target_of(self.db), communes, str(source.path) if source is not None else None, self)
        dialog.take_commune(commune_in_view(self).commune)
        dialog.show()
        return dialog

    def findings_report(self):
        """Tệp > Báo cáo kết quả kiểm tra…: the commune in view proposed as the scope."""
        from .findings_report_dialog import FindingsReportDialog

        if self.db is None:
            return None
        communes = [(c.code, c.name) for c in getattr(self, "communes", None) or ()]
        dialog = FindingsReportDialog(target_of(self.db), communes, self)
        dialog.take_commune(commune_in_view(self).commune)
        dialog.show()
        return dialog

    def choose_export(self) -> None:
        start = sibling_file(target_of(self.db), "ban_do.png") if self.db else "ban_do.png"
        if self.db is not None and self.db.path is not None:
            start = str(Path(self.db.path).with_suffix(".png"))
        path, chosen = file_dialogs.save_file_name(self, tr("act_export").replace("&", ""), start,
                                                   tr("export_filter"))
        if not path:
            return
        if not Path(path).suffix:
            path += ".pdf" if "pdf" in chosen.lower() else ".png"
        self.export(path)

    def export(self, path: str | Path) -> bool:
        try:
            export_map(self.canvas, list(self.canvas.layers.values()), path, self.export_title())
        except (OSError, HatangError) as exc:  # a full disk, a read-only folder: the previous file stays
            QMessageBox.warning(self, tr("app_title"), tr("export_error", detail=message_text(exc)))
            return False
        self.statusBar().showMessage(tr("export_done", path=path), STATUS_MESSAGE_MS)
        return True
