"""The main window: the map in the middle, layers on the left, feature information on the right,
the attribute table below; a toolbar for navigation, tools, communes and search."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow

from .actions import connect_triggered
from .attribute_table import AttributeTable
from .editing.controller import EditController
from .dashboard import IndicatorDashboard
from .data_events import DataEvents
from .dock_layout import DockLayout
from .findings_panel import FindingsPanel
from .gps_map import GpsOnMap
from .gps_panel import GpsPanel
from .identify_panel import IdentifyPanel
from .layer_panel import LayerPanel
from .loader import LoadJob
from .map.canvas import MapCanvas
from . import menu_keys
from .menus import WindowMenus
from .reference_layers import ReferenceLayers
from .server_viewport import ServerViewport
from .status_bar import WindowStatusBar
from .track_recording import TrackRecording
from .strings import has, tr
from .window_comfort import WindowComfort, show_about
from .window_data import WindowData
from .window_files import WindowFiles
from .window_selection import WindowSelection
from .window_server import WindowServer


class MainWindow(WindowData, WindowSelection, WindowFiles, WindowServer, WindowMenus, WindowStatusBar,
                 QMainWindow):
    # Each job of the window lives in its own module (mixed in above); the window builds the
    # widgets and the actions and wires them, so tests and other parts find everything on it.
    load_finished = Signal(bool)  # after open_database's background load: success or not
    map_shown = Signal()  # open_database's map is drawn and usable (a file's poles may still come)
    database_opened = Signal(str)  # a database is open and drawn (its path, or a server's address)

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
        self._late = None  # a LatePoles while a file's poles are read after its map is shown
        self._counts_dirty = False  # an edit changed the counts since they were last asked for
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
        self.gps_map = GpsOnMap(self)  # the position on the map, follow me, Đi tới
        self.track_recording = TrackRecording(self)  # the dock's "Ghi lộ trình" into the open file
        self.dashboard = IndicatorDashboard(self)  # plan indicators (View menu); computes when a database opens
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dashboard)
        self.dashboard.hide()
        self.findings_panel = FindingsPanel(self)  # inspection findings (View menu); lists when a database opens
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.findings_panel)  # a wide list
        self.findings_panel.hide()
        self._make_status_bar()
        self._make_actions()
        menu_keys.install(QApplication.instance())  # the tools' one-letter shortcuts wait while a menu is open
        self.references = ReferenceLayers(self)  # Tệp > Thêm lớp tham chiếu…, rows in the layer panel
        self._make_menus()
        self._make_toolbar()
        self.layer_panel.visibility_changed.connect(self._layer_toggled)
        self.layer_panel.labels_changed.connect(self.canvas.set_labels_visible)
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
        self.viewport = ServerViewport(self)  # a server map reads its view's surroundings
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
        self._make_server_actions()
        self.act_open_basemap = a("act_open_basemap", self.choose_basemap, QKeySequence("Ctrl+B"))
        self.act_close_basemap = a("act_close_basemap", lambda: self.set_basemap(None))
        self.act_close_basemap.setEnabled(False)
        self.act_download_basemap = a("act_download_basemap", self.download_basemap_dialog)
        self.act_export = a("act_export", self.choose_export, QKeySequence("Ctrl+E"))
        self.act_print_map = a("act_print_map", self.print_map_sheet, QKeySequence("Ctrl+P"))
        self.act_findings_report = a("act_findings_report", self.findings_report)
        self.act_gis_import = a("gis_act_import", self.import_gis_data)
        self.act_gis_export = a("gis_act_export", self.export_gis_data)
        self.act_track_export = a("track_act_export", self.track_recording.choose_export)
        self.act_xl_export = a("xl_act_export", self.export_excel)
        self.act_xl_package = a("xl_act_package", self.export_package)
        self.act_xl_import = a("xl_act_import", self.import_excel)
        self.act_xl_conflicts = a("xl_act_conflicts", self.show_conflicts)
        self.act_sync = a("sync_act", self.sync_with_server)
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

    def closeEvent(self, event) -> None:
        self.comfort.save_layout()
        self.gps_panel.stop()  # end the GPS reader thread before the window goes
        self._job_id += 1
        self._close_database()
        self.canvas.set_basemap(None)
        super().closeEvent(event)

    def _map_clicked(self, x: float, y: float, tolerance_m: float) -> None:
        from hatang_desktop.core.server.database import ServerError

        try:
            if not self.editor.map_clicked(x, y, tolerance_m):  # an edit tool takes the click first
                self.identify_at(x, y, tolerance_m)
                self.editor.refresh_history()
        except ServerError as exc:  # the server went away under a click: say so, nothing else
            self.editor.report_error(exc)

    def _about(self) -> None:
        show_about(self)
