"""The main window: the map in the middle, layers on the left, feature information on the right."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox
from sqlalchemy.exc import SQLAlchemyError

from hatang_desktop import __version__
from hatang_desktop.core.coords import format_dms
from hatang_desktop.core.errors import DatabaseFileError, HatangError
from hatang_desktop.core.info import database_info
from hatang_desktop.core.map_data import identify, mercator_to_lonlat, read_map
from hatang_desktop.core.storage.database import Database

from .identify_panel import IdentifyPanel
from .layer_panel import LayerPanel
from .map.canvas import MapCanvas
from .strings import format_int, tr


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.db: Database | None = None
        self.setWindowTitle(tr("app_title"))
        self.canvas = MapCanvas(self)
        self.setCentralWidget(self.canvas)
        self.layer_panel = LayerPanel(self)
        self.identify_panel = IdentifyPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.layer_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.identify_panel)
        self.resizeDocks([self.layer_panel, self.identify_panel], [300, 240], Qt.Orientation.Horizontal)
        self.position_label = QLabel()
        self.counts_label = QLabel(tr("no_database"))
        self.statusBar().addWidget(self.position_label, 1)
        self.statusBar().addPermanentWidget(self.counts_label)
        self._make_menus()
        self.layer_panel.visibility_changed.connect(self.canvas.set_layer_visible)
        self.canvas.cursor_moved.connect(self._show_position)
        self.canvas.feature_clicked.connect(self.identify_at)
        self.layer_panel.set_layers(list(self.canvas.layers.values()))

    def _make_menus(self) -> None:
        def action(key: str, slot, shortcut=None) -> QAction:
            act = QAction(tr(key), self)
            act.triggered.connect(slot)
            if shortcut is not None:
                act.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            return act

        self.act_open = action("act_open", self.choose_database, QKeySequence.StandardKey.Open)
        self.act_quit = action("act_quit", self.close, QKeySequence("Ctrl+Q"))
        self.act_full = action("act_full_extent", self.canvas.zoom_full, QKeySequence("Ctrl+0"))
        self.act_zoom_in = action("act_zoom_in", lambda: self.canvas.zoom_by(0.5),
                                  [QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.act_zoom_out = action("act_zoom_out", lambda: self.canvas.zoom_by(2.0), QKeySequence("Ctrl+-"))
        self.act_about = action("act_about", self._about)

        file_menu = self.menuBar().addMenu(tr("menu_file"))
        file_menu.addAction(self.act_open)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        view_menu = self.menuBar().addMenu(tr("menu_view"))
        for act in (self.act_full, self.act_zoom_in, self.act_zoom_out):
            view_menu.addAction(act)
        view_menu.addSeparator()
        view_menu.addAction(self.layer_panel.toggleViewAction())
        view_menu.addAction(self.identify_panel.toggleViewAction())
        help_menu = self.menuBar().addMenu(tr("menu_help"))
        help_menu.addAction(self.act_about)

    # -- database ------------------------------------------------------------------------

    def load_database(self, path: str | Path) -> None:
        """Open `path` read-only and draw it. Raises HatangError (the map is left empty)."""
        self._close_database()
        try:
            db = Database.open(path, readonly=True)
        except HatangError:
            self._show_empty()
            raise
        try:
            data = read_map(db)
            info = database_info(db)
        except (sqlite3.Error, SQLAlchemyError) as exc:
            db.close()
            self._show_empty()
            raise DatabaseFileError(path, tr("map_read_error", detail=exc),
                                    f"cannot read the map data ({exc})") from None
        self.db = db
        self.canvas.set_map(data)
        self.layer_panel.set_layers(list(self.canvas.layers.values()))
        self.identify_panel.clear()
        self._show_counts(info)
        name = info["province"]["name"] or Path(path).name
        self.setWindowTitle(tr("window_title", name=f"{name} ({Path(path).name})"))

    def open_database(self, path: str | Path) -> bool:
        """load_database for the UI: a bad file becomes a message box, never a crash."""
        try:
            self.load_database(path)
            return True
        except HatangError as exc:
            QMessageBox.critical(self, tr("error_title"), str(exc))
            return False

    def choose_database(self) -> None:
        start = str(Path(self.db.path).parent) if self.db else ""
        path, _ = QFileDialog.getOpenFileName(self, tr("act_open"), start, tr("open_filter"))
        if path:
            self.open_database(path)

    def _close_database(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def _show_empty(self) -> None:
        self.canvas.set_map(None)
        self.identify_panel.clear()
        self.layer_panel.set_layers(list(self.canvas.layers.values()))
        self.counts_label.setText(tr("no_database"))
        self.setWindowTitle(tr("app_title"))

    def closeEvent(self, event) -> None:
        self._close_database()
        super().closeEvent(event)

    # -- status bar and identify ---------------------------------------------------------

    def _show_counts(self, info: dict) -> None:
        c = info["counts"]
        self.counts_label.setText(tr(
            "status_counts", sites=format_int(c["sites"]), shared=format_int(info["shared_sites"]),
            poles=format_int(c["poles"]), routes=format_int(c["fibre_routes"]),
            findings=format_int(c["findings"]), communes=format_int(c["communes"])))

    def _show_position(self, x: float, y: float) -> None:
        if math.isnan(x):
            self.position_label.clear()
            return
        lon, lat = (float(v) for v in mercator_to_lonlat(x, y))
        self.position_label.setText(tr(
            "status_position", dec=f"{lat:.6f}, {lon:.6f}",
            dms=f"{format_dms(lat, 'lat')} {format_dms(lon, 'lon')}"))

    def identify_at(self, x: float, y: float, tolerance_m: float):
        if self.db is None:
            return None
        feature = identify(self.db, x, y, tolerance_m)
        self.identify_panel.show_feature(feature)
        self.canvas.highlight(feature.geometry if feature else None)
        if feature is not None:
            self.identify_panel.show()
        return feature

    def _about(self) -> None:
        QMessageBox.about(self, tr("act_about").replace("&", ""), tr("about_text", version=__version__))
