"""The main window: the map in the middle, layers on the left, feature information on the right,
the attribute table below; a toolbar for navigation, tools, communes and search."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThreadPool, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QComboBox, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QSizePolicy, QToolBar)

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.geo.meridians import central_meridian
from hatang_desktop.core.geo.parse import format_dms
from hatang_desktop.core.geo.projection import mercator_to_lonlat
from hatang_desktop.core.geo.vn2000 import wgs84_to_vn2000
from hatang_desktop.core.info import database_info
from hatang_desktop.core.map_data import (Extent, attribute_rows, identify, paths_in_box, points_in_box,
                                          read_communes, read_feature, read_map)
from hatang_desktop.core.map_patch import read_updates
from hatang_desktop.core.mbtiles import MBTiles, MBTilesError
from hatang_desktop.core.search import SearchHit, search

from . import file_dialogs
from .actions import connect_triggered
from .attribute_table import TABLE_LAYERS, AttributeTable
from .editing.controller import EditController
from .export import export_map
from .dashboard import IndicatorDashboard
from .data_events import DataEvents
from .dock_layout import DockLayout
from .findings_panel import FindingsPanel
from .gps_panel import GpsPanel
from .identify_panel import IdentifyPanel
from .layer_panel import LayerPanel
from .loader import LoadedDatabase, LoadJob, read_database
from .map.canvas import MapCanvas
from .map.overlays import format_area, format_distance
from .search_box import SearchBox
from .settings import LAST_BASEMAP, app_settings
from .strings import format_int, format_number, has, message_text, tr
from .window_comfort import WindowComfort, show_about

SELECTABLE = ("sites", "poles", "routes")  # layers the box selects from (and the table lists)
STATUS_MESSAGE_MS = 8000


class MainWindow(QMainWindow):
    load_finished = Signal(bool)  # after open_database's background load: success or not
    database_opened = Signal(str)  # a database is open and drawn (its path)

    def __init__(self) -> None:
        super().__init__()
        self.db = None
        self.info: dict | None = None
        self.communes = []
        self.meridian: float | None = None
        self.selection: dict[str, np.ndarray] = {}
        self.coord_display = "wgs84"  # Settings > coordinate display; set by WindowComfort
        self._job_id = 0
        self._jobs: dict[int, LoadJob] = {}
        self.setWindowTitle(tr("app_title"))
        self.canvas = MapCanvas(self)
        self.setCentralWidget(self.canvas)
        self.layer_panel = LayerPanel(self)
        self.identify_panel = IdentifyPanel(self)
        self.table_dock = AttributeTable(self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.layer_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.identify_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.table_dock)
        self.resizeDocks([self.layer_panel, self.identify_panel], [290, 250], Qt.Orientation.Horizontal)
        self.resizeDocks([self.table_dock], [170], Qt.Orientation.Vertical)
        self.table_dock.hide()  # shown when something is selected
        self.gps_panel = GpsPanel(self)  # View menu; hidden until wanted (most work is at a desk)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.gps_panel)
        self.gps_panel.hide()
        self.dashboard = IndicatorDashboard(self)  # plan indicators (View menu); computes when a database opens
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dashboard)
        self.dashboard.hide()
        self.findings_panel = FindingsPanel(self)  # inspection findings (View menu); lists when a database opens
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.findings_panel)  # a wide list
        self.findings_panel.hide()
        self._make_status_bar()
        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self.layer_panel.visibility_changed.connect(self._layer_toggled)
        self.layer_panel.filter_box.filter_changed.connect(self.set_filter)
        self.canvas.cursor_moved.connect(self._show_position)
        self.canvas.feature_clicked.connect(self._map_clicked)
        self.canvas.box_selected.connect(self.select_box)
        self.canvas.measure_changed.connect(self._show_measure)
        self.canvas.scale_changed.connect(self._show_scale)
        self.canvas.tool_changed.connect(self._tool_changed)
        self.canvas.basemap_problem.connect(self._basemap_problem)
        self.table_dock.layer_changed.connect(lambda _key: self._refresh_table())
        self.table_dock.feature_activated.connect(self.go_to_feature)
        self.search_box.query_ready.connect(self.run_search)
        self.search_box.hit_chosen.connect(self.go_to_hit)
        self.layer_panel.set_layers(list(self.canvas.layers.values()))
        # Every write the app makes is announced here; the map and the counts follow first, then
        # the editor's panels (connected in its constructor).
        self.data_events = DataEvents(self)
        self.data_events.changed.connect(self.apply_changes)
        self.editor = EditController(self)  # Edit menu, edit tools, undo stack (before the saved layout)
        self.comfort = WindowComfort(self)  # settings, recent files, saved layout
        # Docks scroll and open as tabs of their group: all of them open fit a 1366x768 screen.
        self.dock_layout = DockLayout(self, [(self.identify_panel, self.gps_panel, self.dashboard),
                                             (self.table_dock, self.editor.history_dock, self.findings_panel)])

    # -- construction --------------------------------------------------------------------

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.position_label = QLabel()
        self.vn2000_label = QLabel()
        self.message_label = QLabel()  # measurement and selection results
        self.message_label.setStyleSheet("color: #8a0057; font-weight: bold")
        self.scale_label = QLabel()
        self.counts_label = QLabel(tr("no_database"))
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 100)
        self.progress.hide()
        bar.addWidget(self.position_label)
        bar.addWidget(self.vn2000_label)
        bar.addWidget(self.message_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.scale_label)
        bar.addPermanentWidget(self.counts_label)

    def _action(self, key: str, slot, shortcut=None, checkable=False) -> QAction:
        act = QAction(tr(key), self)
        act.setCheckable(checkable)
        connect_triggered(act, slot)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        tip_key = key + "_tip"
        tip = tr(tip_key) if has(tip_key) else tr(key).replace("&", "").rstrip("…")
        if has(tip_key):
            act.setStatusTip(tip)
        if act.shortcut():  # the shortcut in every tooltip: users learn it from the toolbar
            tip = f"{tip} ({act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        act.setToolTip(tip)
        return act

    def _make_actions(self) -> None:
        a = self._action
        self.act_open = a("act_open", self.choose_database, QKeySequence.StandardKey.Open)
        self.act_open_basemap = a("act_open_basemap", self.choose_basemap, QKeySequence("Ctrl+B"))
        self.act_close_basemap = a("act_close_basemap", lambda: self.set_basemap(None))
        self.act_close_basemap.setEnabled(False)
        self.act_export = a("act_export", self.choose_export, QKeySequence("Ctrl+E"))
        self.act_gis_import = a("gis_act_import", self.import_gis_data)
        self.act_gis_export = a("gis_act_export", self.export_gis_data)
        self.act_xl_export = a("xl_act_export", self.export_excel)
        self.act_xl_package = a("xl_act_package", self.export_package)
        self.act_xl_import = a("xl_act_import", self.import_excel)
        self.act_xl_conflicts = a("xl_act_conflicts", self.show_conflicts)
        self.act_quit = a("act_quit", self.close, QKeySequence("Ctrl+Q"))
        self.act_full = a("act_full_extent", self.canvas.zoom_full, QKeySequence("Ctrl+0"))
        self.act_zoom_in = a("act_zoom_in", lambda: self.canvas.zoom_by(0.5),
                             [QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.act_zoom_out = a("act_zoom_out", lambda: self.canvas.zoom_by(2.0), QKeySequence("Ctrl+-"))
        self.act_zoom_selection = a("act_zoom_selection", self.zoom_to_selection, QKeySequence("Ctrl+J"))
        self.act_select_in_view = a("act_select_in_view", self.select_in_view, QKeySequence("Ctrl+A"))
        self.act_clear_selection = a("act_clear_selection", self.clear_selection, QKeySequence("Ctrl+Shift+A"))
        self.act_sites_to_verify = a("act_sites_to_verify", self.show_sites_to_verify)
        self.act_about = a("act_about", self._about)
        self.act_zoom_selection.setEnabled(False)
        self.act_clear_selection.setEnabled(False)
        self.tool_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for tool, shortcut in (("pan", "P"), ("select", "S"), ("measure_line", "D"), ("measure_area", "A")):
            act = a(f"tool_{tool}", lambda _checked=False, t=tool: self.canvas.set_tool(t), QKeySequence(shortcut),
                    checkable=True)
            # Single-letter shortcuts only while the map has focus: typing in search must not switch tools.
            act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.canvas.addAction(act)
            group.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions["pan"].setChecked(True)

    def _make_menus(self) -> None:
        file_menu = self.menuBar().addMenu(tr("menu_file"))
        for act in (self.act_open, None, self.act_open_basemap, self.act_close_basemap, None, self.act_export,
                    None, self.act_gis_import, self.act_gis_export, None, self.act_xl_export, self.act_xl_package,
                    self.act_xl_import, self.act_xl_conflicts, None, self.act_quit):
            file_menu.addSeparator() if act is None else file_menu.addAction(act)
        view_menu = self.menuBar().addMenu(tr("menu_view"))
        for act in (self.act_full, self.act_zoom_in, self.act_zoom_out, self.act_zoom_selection):
            view_menu.addAction(act)
        view_menu.addSeparator()
        view_menu.addAction(self.act_sites_to_verify)
        view_menu.addSeparator()
        for dock in (self.layer_panel, self.identify_panel, self.table_dock, self.gps_panel, self.dashboard,
                     self.findings_panel):
            view_menu.addAction(dock.toggleViewAction())
        tools_menu = self.menuBar().addMenu(tr("menu_tools"))
        for act in self.tool_actions.values():
            tools_menu.addAction(act)
        tools_menu.addSeparator()
        tools_menu.addAction(self.act_select_in_view)
        tools_menu.addAction(self.act_clear_selection)
        help_menu = self.menuBar().addMenu(tr("menu_help"))
        help_menu.addAction(self.act_about)

    def _make_toolbar(self) -> None:
        bar = QToolBar(tr("toolbar_main"), self)
        bar.setObjectName("main_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.act_zoom_in.setIconText("+")
        self.act_zoom_out.setIconText("−")
        for act in (self.act_full, self.act_zoom_in, self.act_zoom_out, self.act_zoom_selection):
            bar.addAction(act)
        self.act_full.setIconText(tr("act_full_extent_short"))
        self.act_zoom_selection.setIconText(tr("act_zoom_selection_short"))
        bar.addSeparator()
        for act in self.tool_actions.values():
            bar.addAction(act)
        bar.addSeparator()
        self.commune_combo = QComboBox()
        self.commune_combo.setToolTip(tr("commune_tip"))
        self.commune_combo.setMinimumContentsLength(16)
        self.commune_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.commune_combo.setPlaceholderText(tr("commune_placeholder"))
        self.commune_combo.activated.connect(self._commune_chosen)
        bar.addWidget(self.commune_combo)
        spacer = QLabel()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.search_box = SearchBox()
        bar.addWidget(self.search_box)
        self.toolbar = bar

    # -- database ------------------------------------------------------------------------

    def load_database(self, path: str | Path) -> None:
        """Open `path` read-only and draw it, on this thread. Raises HatangError (map left empty)."""
        self._job_id += 1  # a background load still running is now stale
        self._close_database()
        try:
            loaded = read_database(path)
        except HatangError:
            self._show_empty()
            raise
        self._apply(loaded, path)

    def open_database(self, path: str | Path, *, background: bool = True) -> bool | None:
        """load_database for the UI: off the GUI thread with progress; a bad file becomes a message.

        In the background (the default) returns None and emits load_finished(ok) when done.
        """
        if not background:
            try:
                self.load_database(path)
                return True
            except HatangError as exc:
                QMessageBox.critical(self, tr("error_title"), message_text(exc))
                return False
        self._job_id += 1
        job = LoadJob(self._job_id, path)
        job.signals.progress.connect(self._load_progress)
        job.signals.finished.connect(lambda job_id, result: self._load_done(job_id, result, path))
        job.signals.failed.connect(self._load_failed)
        self._jobs[self._job_id] = job
        self.progress.setValue(0)
        self.progress.show()
        self.statusBar().showMessage(tr("status_loading", name=Path(path).name))
        QThreadPool.globalInstance().start(job)
        return None

    def _load_progress(self, job_id: int, percent: int) -> None:
        if job_id == self._job_id:
            self.progress.setValue(percent)

    def _load_done(self, job_id: int, result: LoadedDatabase, path) -> None:
        self._jobs.pop(job_id, None)
        if job_id != self._job_id:  # the user opened something else meanwhile
            result.db.close()
            return
        self._close_database()

        def drawn() -> None:
            self.progress.hide()
            self.statusBar().clearMessage()
            self._apply(result, path, drawn=True)
            self.load_finished.emit(True)

        self.progress.setValue(100)
        self.canvas.set_map_in_steps(result.data, drawn)

    def _load_failed(self, job_id: int, message: str) -> None:
        self._jobs.pop(job_id, None)
        if job_id != self._job_id:
            return
        self.progress.hide()
        self.statusBar().clearMessage()
        QMessageBox.critical(self, tr("error_title"), message)
        self.load_finished.emit(False)

    def _apply(self, loaded: LoadedDatabase, path, drawn: bool = False) -> None:
        self.db, self.info, self.communes = loaded.db, loaded.info, loaded.communes
        if not drawn:
            self.canvas.set_map(loaded.data)
        self.layer_panel.set_layers(list(self.canvas.layers.values()))
        self.layer_panel.filter_box.set_operators(self.canvas.layers["sites"]._operators)
        self.identify_panel.clear()
        self._set_selection({})
        self._show_counts(loaded.info)
        self._fill_communes()
        try:
            self.meridian = central_meridian(loaded.info["province"]["code"])
        except (HatangError, KeyError, ValueError):
            self.meridian = None  # a national database: no one province's VN-2000 zone
        name = loaded.info["province"]["name"] or Path(path).name
        self.setWindowTitle(tr("window_title", name=f"{name} ({Path(path).name})"))
        self.database_opened.emit(str(path))

    def choose_database(self) -> None:
        start = str(Path(self.db.path).parent) if self.db else ""
        path, _ = file_dialogs.open_file_name(self, tr("act_open"), start, tr("open_filter"), database=True)
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
        self.info, self.communes, self.meridian = None, [], None
        self._fill_communes()
        self._set_selection({})
        self.setWindowTitle(tr("app_title"))

    def closeEvent(self, event) -> None:
        self.comfort.save_layout()
        self.gps_panel.stop()  # end the GPS reader thread before the window goes
        self._job_id += 1
        self._close_database()
        self.canvas.set_basemap(None)
        super().closeEvent(event)

    # -- layers and filter ---------------------------------------------------------------

    def _layer_toggled(self, key: str, visible: bool) -> None:
        self.canvas.set_layer_visible(key, visible)

    def set_filter(self, layer_filter) -> None:
        self.canvas.set_filter(layer_filter)
        self.layer_panel.update_counts(list(self.canvas.layers.values()))
        # A selected feature the filter hides is no longer selected.
        if self.selection:
            self._set_selection({k: idx[self.canvas.layers[k].shown[idx]] for k, idx in self.selection.items()})

    # -- navigation ----------------------------------------------------------------------

    def _fill_communes(self) -> None:
        self.commune_combo.clear()
        for commune in self.communes:
            self.commune_combo.addItem(commune.name, commune.code)
        self.commune_combo.setCurrentIndex(-1)

    def _commune_chosen(self, index: int) -> None:
        if 0 <= index < len(self.communes):
            self.zoom_to_commune(self.communes[index].code)

    def zoom_to_commune(self, code: str) -> None:
        for i, commune in enumerate(self.communes):
            if commune.code == code:
                self.commune_combo.setCurrentIndex(i)
                self.canvas.zoom_to(commune.bounds, padding=0.03)
                return

    def zoom_to_selection(self) -> None:
        box = self.selection_extent()
        if box is not None:
            self.canvas.zoom_to(box)

    def selection_extent(self) -> Extent | None:
        boxes = []
        for key, idx in self.selection.items():
            data = self.canvas.layers[key].data
            if data is None or not len(idx):
                continue
            if hasattr(data, "connect"):
                b = data.feature_bounds()[idx]
                boxes.append((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))
            else:
                boxes.append((data.x[idx].min(), data.y[idx].min(), data.x[idx].max(), data.y[idx].max()))
        if not boxes:
            return None
        b = np.array(boxes)
        return Extent(float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    # -- selection and the attribute table -----------------------------------------------

    def select_box(self, box: Extent, additive: bool = False) -> dict[str, np.ndarray]:
        """Select the features of the drawn, selectable layers inside `box` (map metres): a layer
        switched off, or out of scale (poles when zoomed out), gives nothing, as a click does."""
        found = {}
        for key in SELECTABLE:
            layer = self.canvas.layers[key]
            if not layer.is_drawn() or layer.data is None:
                continue
            finder = paths_in_box if hasattr(layer.data, "connect") else points_in_box
            found[key] = finder(layer.data, box, layer.shown)
        if additive:
            for key, idx in self.selection.items():
                found[key] = np.union1d(found.get(key, np.zeros(0, np.int64)), idx)
        self._set_selection(found)
        return found

    def select_in_view(self) -> None:
        self.select_box(self.canvas.view_extent())

    def clear_selection(self) -> None:
        self._set_selection({})

    def _set_selection(self, selection: dict[str, np.ndarray]) -> None:
        self.selection = {k: np.asarray(v, dtype=np.int64) for k, v in selection.items() if len(v)}
        self.canvas.show_selection(self.selection)
        self.act_zoom_selection.setEnabled(bool(self.selection))
        self.act_clear_selection.setEnabled(bool(self.selection))
        n = {k: len(self.selection.get(k, ())) for k in SELECTABLE}
        self.message_label.setText(tr("status_selected", sites=format_int(n["sites"]), poles=format_int(n["poles"]),
                                      routes=format_int(n["routes"])) if self.selection else "")
        if self.selection:
            current = self.table_dock.layer_key()
            if not n.get(current):
                self.table_dock.set_layer(next(k for k, _t in TABLE_LAYERS if n.get(k)))
            self.table_dock.show()
        self._refresh_table()

    def show_sites_to_verify(self) -> np.ndarray:
        """The "to verify" view: every site imported from a reference source (OpenStreetMap, a
        list of coordinates) and not verified yet, selected on the map and listed in the
        attribute table (double-click a row to go there, F2 to open it and verify it)."""
        layer = self.canvas.layers["sites"]
        data = layer.data if self.db is not None else None
        idx = np.flatnonzero(data.attrs["status"] == "to_verify") if data is not None else np.zeros(0, np.int64)
        if not len(idx):
            self.statusBar().showMessage(tr("sites_to_verify_none"), STATUS_MESSAGE_MS)
            return idx
        self.table_dock.set_layer("sites")
        self._set_selection({"sites": idx})
        self.zoom_to_selection()
        self.statusBar().showMessage(tr("sites_to_verify_found", n=format_int(len(idx))), STATUS_MESSAGE_MS)
        return idx

    def _refresh_table(self) -> None:
        key = self.table_dock.layer_key()
        table = next(t for k, t in TABLE_LAYERS if k == key)
        idx = self.selection.get(key)
        layer = self.canvas.layers[key]
        if self.db is None or idx is None or layer.data is None:
            self.table_dock.set_rows(table, [], [])
            return
        fields, rows = attribute_rows(self.db, table, layer.data.uuid[idx])
        self.table_dock.set_rows(table, fields, rows)

    def go_to_feature(self, layer_key: str, uuid: str) -> None:
        """Zoom to one feature of a layer and show its attributes (table double-click, search)."""
        layer = self.canvas.layers[layer_key]
        if self.db is None:
            return
        feature = read_feature(self.db, layer.table, uuid)
        if feature.geometry is not None:
            x0, y0, x1, y1 = feature.geometry.bounds
            self.canvas.zoom_to(Extent(x0, y0, x1, y1))
        self.identify_panel.show_feature(feature)
        self.identify_panel.show()
        self.canvas.highlight(feature.geometry)

    # -- search ----------------------------------------------------------------------------

    def run_search(self, query: str) -> list[SearchHit]:
        hits = search(self.db, query) if self.db is not None else []
        self.search_box.show_hits(hits)
        self.statusBar().showMessage(tr("search_found", n=len(hits), query=query) if hits
                                     else tr("search_none", query=query), STATUS_MESSAGE_MS)
        return hits

    def go_to_hit(self, hit: SearchHit) -> None:
        if self.db is None:
            return
        feature = read_feature(self.db, hit.table, hit.uuid)
        geometry = feature.geometry
        if hit.table == "admin_units" and feature.attributes.get("level") == "commune":
            self.zoom_to_commune(feature.attributes["code"])
        elif geometry is not None and hit.table != "admin_units":
            x0, y0, x1, y1 = geometry.bounds
            self.canvas.zoom_to(Extent(x0, y0, x1, y1))
        else:
            self.canvas.zoom_to(Extent(hit.x, hit.y, hit.x, hit.y))
        self.identify_panel.show_feature(feature)
        self.identify_panel.show()
        self.canvas.highlight(geometry)

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

    def _basemap_problem(self, counts: str) -> None:
        missing, damaged = counts.split("/")
        self.statusBar().showMessage(tr("basemap_problem", missing=missing, damaged=damaged), STATUS_MESSAGE_MS)

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
        dialog = GisImportDialog(self.db.path, self)
        dialog.imported.connect(lambda result: self.imported(dialog.db_path, result))
        if path:
            dialog.set_file(path)
        dialog.show()
        return dialog

    def export_excel(self):
        """File > Xuất sổ Excel (its own read-only connection, on a worker)."""
        from .excel_export_dialog import ExcelExportDialog

        if self.db is None:
            return None
        dialog = ExcelExportDialog(self.db.path, [(c.code, c.name) for c in self.communes or ()], self)
        dialog.show()
        return dialog

    def export_package(self):
        """File > Xuất gói cho Sở: the Excel export dialog with "Kèm ảnh" checked (a .zip with the
        workbook, its photos and their sha256)."""
        from .excel_export_dialog import ExcelExportDialog

        if self.db is None:
            return None
        dialog = ExcelExportDialog(self.db.path, [(c.code, c.name) for c in self.communes or ()], self,
                                   package=True)
        dialog.show()
        return dialog

    def import_excel(self, path: str | Path | None = None):
        """File > Nhập sổ Excel: preview, then apply through its own connection; the map shows what it
        changed and the import is one undo step (`imported`)."""
        from .excel_import_dialog import ExcelImportDialog

        if self.db is None:
            return None
        dialog = ExcelImportDialog(self.db.path, self)
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
        if self.db is None or Path(path).resolve() != Path(self.db.path).resolve():
            self.open_database(path)
            return
        self.editor.push_operation(result.changes)

    def show_conflicts(self):
        from .conflict_dialog import ConflictDialog

        if self.db is None:
            return None
        dialog = ConflictDialog(self.db.path, self)
        dialog.resolved.connect(lambda _n: self.open_database(dialog.db_path))
        dialog.show()
        return dialog

    def export_gis_data(self):
        from .gis_dialogs import GisExportDialog

        if self.db is None:
            return None
        communes = [(c.code, c.name) for c in getattr(self, "communes", None) or ()]
        dialog = GisExportDialog(self.db.path, communes, self)
        dialog.show()
        return dialog

    def choose_export(self) -> None:
        start = str(Path(self.db.path).with_suffix(".png")) if self.db else "ban_do.png"
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

    # -- status bar and identify -----------------------------------------------------------

    def _show_counts(self, info: dict) -> None:
        c = info["counts"]
        # Short on the bar (1366 px must hold position, VN-2000, a measurement and the scale),
        # everything in the tooltip.
        self.counts_label.setText(tr("status_counts_short", sites=format_int(c["sites"]),
                                     poles=format_int(c["poles"]), routes=format_int(c["fibre_routes"])))
        self.counts_label.setToolTip(tr(
            "status_counts", sites=format_int(c["sites"]), shared=format_int(info["shared_sites"]),
            poles=format_int(c["poles"]), routes=format_int(c["fibre_routes"]),
            findings=format_int(c["findings"]), communes=format_int(c["communes"])))

    def _show_position(self, x: float, y: float) -> None:
        if math.isnan(x):
            self.position_label.clear()
            self.vn2000_label.clear()
            return
        lon, lat = (float(v) for v in mercator_to_lonlat(x, y))
        dec, dms = f"{lat:.6f}, {lon:.6f}", f"{format_dms(lat, 'lat')} {format_dms(lon, 'lon')}"
        if self.coord_display == "dms":  # the preferred form first: it survives a narrow status bar
            dec, dms = dms, dec
        wgs84 = tr("status_position", dec=dec, dms=dms)
        vn2000 = ""
        if self.meridian is not None:
            try:
                north, east = wgs84_to_vn2000(lat, lon, meridian=self.meridian)
                vn2000 = tr("status_vn2000", meridian=format_number(self.meridian, 2).rstrip("0").rstrip(",."),
                            x=format_number(north, 1), y=format_number(east, 1))
            except HatangError:
                vn2000 = ""
        if self.coord_display == "vn2000" and vn2000:
            wgs84, vn2000 = vn2000, wgs84
        self.position_label.setText(wgs84)
        self.vn2000_label.setText(vn2000)

    def _show_scale(self, denominator: float) -> None:
        # Rounded to 2 significant digits: 1:48.213 reads as noise, 1:48.000 as a scale.
        if denominator <= 0:
            self.scale_label.clear()
            return
        digits = max(int(math.floor(math.log10(denominator))) - 1, 0)
        rounded = round(denominator / 10**digits) * 10**digits
        self.scale_label.setText(tr("status_scale", n=format_int(int(rounded))))

    def _show_measure(self, length: float, area: float, finished: bool) -> None:
        if not self.canvas.tool.startswith("measure"):
            return
        if length <= 0:
            self.message_label.setText(tr("measure_start"))
        elif self.canvas.tool == "measure_area" and area > 0:
            self.message_label.setText(tr("measure_area", area=format_area(area), perimeter=format_distance(length)))
        else:
            self.message_label.setText(tr("measure_length", value=format_distance(length)))

    def _tool_changed(self, tool: str) -> None:
        self.tool_actions[tool].setChecked(True)
        self.message_label.setText(tr("measure_start") if tool.startswith("measure") else "")

    def _map_clicked(self, x: float, y: float, tolerance_m: float) -> None:
        if not self.editor.map_clicked(x, y, tolerance_m):  # an edit tool takes the click first
            self.identify_at(x, y, tolerance_m)
            self.editor.refresh_history()

    def apply_changes(self, changes) -> None:
        """Show a write (data_events.changed): read just the records it changed and patch the
        layers, the counts and the selection in place; the view stays where it is."""
        if self.db is None:
            return
        selected = {k: self.canvas.layers[k].data.uuid[idx] for k, idx in self.selection.items()
                    if self.canvas.layers[k].data is not None}
        updates, reloaded = read_updates(self.db, changes)
        self.canvas.apply_updates(updates, reloaded)
        self.layer_panel.update_counts(list(self.canvas.layers.values()))
        if selected:
            self._set_selection({k: self.canvas.indices(k, uuids) for k, uuids in selected.items()})
        if "admin_units" in changes.tables:  # a boundary import: the commune list and its extents
            self.communes = read_communes(self.db)
            self._fill_communes()
        if self.info is not None and changes.counts_dirty:
            counts = self.info["counts"]
            for table in counts:
                counts[table] += changes.count_delta(table)
            sites = self.canvas.layers["sites"].data
            if sites is not None:
                a = sites.attrs
                self.info["shared_sites"] = int(np.count_nonzero(a["shared"] & (a["status"] != "to_verify")))
            elif not counts.get("sites"):
                self.info["shared_sites"] = 0
            self._show_counts(self.info)

    def refresh_map(self) -> None:
        """Re-read every layer and redraw, keeping the view where it is: what every edit did
        before edits said what they changed (apply_changes); kept as the benchmark's yardstick."""
        if self.db is None:
            return
        (x0, x1), (y0, y1) = self.canvas.view.viewRange()
        self.canvas.set_map(read_map(self.db))
        self.canvas.view.setRange(xRange=(float(x0), float(x1)), yRange=(float(y0), float(y1)), padding=0)
        self.layer_panel.update_counts(list(self.canvas.layers.values()))
        self._set_selection({})
        self.info = database_info(self.db)
        self._show_counts(self.info)

    def identify_at(self, x: float, y: float, tolerance_m: float):
        if self.db is None:
            return None
        # Only what the map shows: layers switched off or out of scale, filtered-out features skipped.
        feature = identify(self.db, x, y, tolerance_m, accept=self.canvas.is_identifiable)
        self.identify_panel.show_feature(feature)
        self.canvas.highlight(feature.geometry if feature else None)
        if feature is not None:
            self.identify_panel.show()
        return feature

    def _about(self) -> None:
        show_about(self)
