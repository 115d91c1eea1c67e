"""Editing in the main window: the Edit menu and toolbar, the map tools, the undo stack.

Tools: add a site, a pole or a finding (a click opens the form at that place), draw a fibre route
(clicks add vertices, double-click or Enter finishes and opens the form), move a point (drag its
handle), edit a route's vertices (drag to move, drag a midpoint to insert, right-click to delete).
Edit attributes and delete act on the feature last identified on the map. Every edit is one core
edit (one operation of the change log) pushed on a QUndoStack as a command naming that operation;
what it changed (core.changes) is announced on the window's data events, where the map patches
just those features and this controller shows the edited record again.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import shapely
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import QDialog, QMessageBox, QToolBar

from hatang_desktop.core import editing, schema
from hatang_desktop.core.editing import DuplicateFound, EditConflict, EditResult, ValidationFailed
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.geo.geodesy import geodesic_length_m
from hatang_desktop.core.geo.projection import lonlat_to_mercator, mercator_to_lonlat
from hatang_desktop.core.map_data import identify, read_feature

from ..actions import connect_triggered
from ..map.overlays import format_distance
from ..strings import has, language, message_text, tr
from .commands import EditCommand
from .duplicates import OPEN, SAVE, DuplicateDialog
from .fields import display_value
from .form_widget import FormDialog
from .history_dock import HistoryDock
from .sketch import Sketch

ADD_TOOLS = ("add_sites", "add_poles", "draw_route", "add_findings")
TOOLS = ADD_TOOLS + ("move", "vertices")
FINDING_TARGETS = ("sites", "poles", "fibre_routes", "zones")
STATUS_MS = 6000
MIDPOINT_MIN_PX = 36  # a segment shorter than this on screen gets no insert handle
VERTEX_MIN_PX = 16  # vertex handles closer than this on screen are thinned out until zoomed in


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = mercator_to_lonlat(x, y)
    return float(lon), float(lat)


def _xy(lon: float, lat: float) -> tuple[float, float]:
    x, y = lonlat_to_mercator(lon, lat)
    return float(x), float(y)


class EditController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = window.canvas
        self.forms = load_forms()
        # The stack lives with the map it edits. (As the canvas's child it also goes before the
        # docks when the window is destroyed: a non-empty stack emits indexChanged as it dies, and
        # a dock listening to it must not be gone already.)
        self.stack = QUndoStack(self.canvas)
        self.mode: str | None = None
        self.target: tuple[str, str] | None = None  # the feature being moved or reshaped
        self.route_points: list[tuple[float, float]] = []
        self.last_dialog: FormDialog | None = None
        self.sketch = Sketch(self.canvas)
        self.sketch.handle_moved.connect(self._handle_moved)
        self.sketch.handle_right_clicked.connect(self._handle_right_clicked)
        self.history_dock = HistoryDock(self.forms, window)
        # Below the map beside the attribute table: a change list wants width, not height.
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.history_dock)
        # Tabbed with the attribute table only once it is first shown: tabifying two hidden docks
        # at start leaves Qt's empty tab bar floating over the menu bar.
        self._tabified = False
        self.history_dock.hide()
        self.history_dock.visibilityChanged.connect(self._history_shown)
        self._make_actions()
        self._make_menu_and_toolbar()
        self.canvas.tool_changed.connect(self._canvas_tool_changed)
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.scene().sigMouseClicked.connect(self._scene_clicked)
        # Vertex handles follow the zoom: midpoints appear only where segments are long enough.
        self._handle_timer = QTimer(self)
        self._handle_timer.setSingleShot(True)
        self._handle_timer.setInterval(120)
        self._handle_timer.timeout.connect(self._handles_after_zoom)
        self.canvas.view.sigRangeChanged.connect(self._view_changed)
        opened = getattr(window, "database_opened", None)
        if opened is not None:
            opened.connect(lambda _path: self.database_changed())
        self.events = window.data_events
        self.events.changed.connect(self._data_changed)
        self._focus: tuple[str, str] | None = None  # the record the next change should show
        self.database_changed()

    # -- construction --------------------------------------------------------------------------

    @property
    def db(self):
        return self.window.db

    def _action(self, key: str, slot, shortcut=None, *, canvas_only=False, checkable=False) -> QAction:
        act = QAction(tr(key), self.window)
        act.setCheckable(checkable)
        connect_triggered(act, slot)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        if has(key + "_tip"):
            act.setToolTip(tr(key + "_tip"))
            act.setStatusTip(tr(key + "_tip"))
        if has(key + "_short"):
            act.setIconText(tr(key + "_short"))
        if canvas_only:
            # Single keys only while the map has focus: typing in a field must not delete a feature.
            act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.canvas.addAction(act)
        else:
            self.window.addAction(act)
        return act

    def _make_actions(self) -> None:
        a = self._action
        self.act_undo = self.stack.createUndoAction(self.window, tr("edit_undo").replace("&", ""))
        self.act_undo.setShortcuts([QKeySequence.StandardKey.Undo])
        self.act_undo.setIconText(tr("edit_undo").replace("&", ""))
        self.act_redo = self.stack.createRedoAction(self.window, tr("edit_redo").replace("&", ""))
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.act_redo.setIconText(tr("edit_redo").replace("&", ""))
        for act in (self.act_undo, self.act_redo):
            self.window.addAction(act)
        self.tool_actions: dict[str, QAction] = {}
        self.tool_group = QActionGroup(self)
        self.tool_group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        keys = {"add_sites": ("Ctrl+1", False), "add_poles": ("Ctrl+2", False), "draw_route": ("Ctrl+3", False),
                "add_findings": ("Ctrl+4", False), "move": ("M", True), "vertices": ("V", True)}
        for tool in TOOLS:
            shortcut, canvas_only = keys[tool]
            act = a(f"edit_{tool}", partial(self._tool_triggered, tool), QKeySequence(shortcut),
                    canvas_only=canvas_only, checkable=True)
            self.tool_group.addAction(act)
            self.tool_actions[tool] = act
        self.act_edit = a("edit_attributes", self.edit_selected, QKeySequence("F2"))
        self.act_delete = a("edit_delete", self.delete_selected, QKeySequence(QKeySequence.StandardKey.Delete),
                            canvas_only=True)
        self.act_history = self.history_dock.toggleViewAction()
        self.act_history.setText(tr("edit_history"))
        self.act_history.setIconText(tr("edit_history_short"))
        self.act_history.setShortcut(QKeySequence("Ctrl+H"))
        self.act_finish = a("edit_finish_route", self.finish_route,
                            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)], canvas_only=True)
        self.act_back = a("edit_remove_last", self.remove_last_point, QKeySequence(Qt.Key.Key_Backspace),
                          canvas_only=True)
        self.act_cancel = a("edit_cancel", self.cancel_tool, QKeySequence(Qt.Key.Key_Escape), canvas_only=True)

    def _make_menu_and_toolbar(self) -> None:
        bar = self.window.menuBar()
        menu = bar.addMenu(tr("edit_menu"))
        menu.setObjectName("edit_menu")
        # After File, where people look for Undo.
        actions = bar.actions()
        if len(actions) > 2:
            bar.insertMenu(actions[1], menu)
        for act in (self.act_undo, self.act_redo, None, *self.tool_actions.values(), None, self.act_edit,
                    self.act_delete, None, self.act_history):
            menu.addSeparator() if act is None else menu.addAction(act)
        self.menu = menu
        tb = QToolBar(tr("edit_toolbar"), self.window)
        tb.setObjectName("edit_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for act in (self.act_undo, self.act_redo, None, *self.tool_actions.values(), None, self.act_edit,
                    self.act_delete, self.act_history):
            tb.addSeparator() if act is None else tb.addAction(act)
        self.window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    # -- database -----------------------------------------------------------------------------

    @property
    def writable(self) -> bool:
        return self.db is not None and not self.db.readonly

    def database_changed(self) -> None:
        """A database was opened or closed: the undo history belongs to the old one."""
        self.cancel_tool()
        self.stack.clear()
        self.history_dock.clear()
        on = self.writable
        for act in (*self.tool_actions.values(), self.act_edit, self.act_delete):
            act.setEnabled(on)
        if self.db is not None and self.db.readonly:
            self.status(tr("edit_readonly"))
        self._update_tool_keys()

    def communes(self) -> list[tuple[str, str]]:
        return [(c.code, c.name) for c in getattr(self.window, "communes", [])]

    # -- messages -------------------------------------------------------------------------------

    def status(self, text: str, timeout: int = STATUS_MS) -> None:
        self.window.statusBar().showMessage(text, timeout)

    def hint(self, text: str) -> None:
        self.window.message_label.setText(text)

    def report_error(self, message) -> None:
        """A text, a core message or a core error, shown in the UI's language."""
        QMessageBox.warning(self.window, tr("edit_error_title"), message_text(message))

    # -- tools ----------------------------------------------------------------------------------

    def _tool_triggered(self, tool: str) -> None:
        # The action's own state, not the signal's argument: see ui/actions.py.
        self.set_mode(tool if self.tool_actions[tool].isChecked() else None)

    def set_mode(self, mode: str | None) -> None:
        if mode is not None and not self.writable:
            self.report_error(tr("edit_readonly"))
            mode = None
        if mode is not None and self.canvas.tool != "pan":
            self.canvas.set_tool("pan")  # map clicks come through feature_clicked in the pan tool
        self.mode = mode
        self.route_points = []
        self.target = None
        self.sketch.clear()
        for tool, act in self.tool_actions.items():
            act.setChecked(tool == mode)
        self._update_tool_keys()
        self.hint(self._hint())
        if mode is not None:
            self.canvas.setFocus()

    def cancel_tool(self) -> None:
        self.set_mode(None) if hasattr(self, "tool_actions") else None

    def _update_tool_keys(self) -> None:
        drawing = self.mode == "draw_route"
        self.act_finish.setEnabled(drawing)
        self.act_back.setEnabled(drawing)
        # Esc belongs to the canvas (it ends a measurement) unless an edit tool is on.
        self.act_cancel.setEnabled(self.mode is not None)

    def _hint(self) -> str:
        if self.mode is None:
            return ""
        if self.mode == "draw_route":
            pts = [_lonlat(x, y) for x, y in self.route_points]
            length = geodesic_length_m(shapely.LineString(pts)) if len(pts) > 1 else 0.0
            return tr("edit_hint_draw_route", n=len(pts), length=format_distance(length))
        return tr("edit_hint_" + self.mode)

    def _canvas_tool_changed(self, tool: str) -> None:
        if tool != "pan" and self.mode is not None:
            self.set_mode(None)

    def map_clicked(self, x: float, y: float, tolerance_m: float) -> bool:
        """A click on the map (map metres). True when an edit tool used it (nothing to identify)."""
        if self.mode is None or self.db is None:
            return False
        lon, lat = _lonlat(x, y)
        if self.mode in ("add_sites", "add_poles"):
            self.open_new(self.mode[4:], lat, lon)
        elif self.mode == "add_findings":
            self.open_new_finding(x, y, tolerance_m)
        elif self.mode == "draw_route":
            self.route_points.append((x, y))
            self.sketch.set_points(self.route_points)
            self.hint(self._hint())
        elif self.mode == "move":
            feature = identify(self.db, x, y, tolerance_m)
            if feature is not None and feature.table in editing.POINT_TABLES:
                self.window.identify_panel.show_feature(feature)
                self.set_target(feature.table, feature.uuid)
            else:
                self.set_target(None, None)
        elif self.mode == "vertices":
            uuid = editing.route_near(self.db, x, y, tolerance_m)
            if uuid is not None:
                self.window.identify_panel.show_feature(read_feature(self.db, "fibre_routes", uuid))
            self.set_target("fibre_routes", uuid)
        return True

    def _scene_clicked(self, event) -> None:
        if self.mode == "draw_route" and event.double() and event.button() == Qt.MouseButton.LeftButton:
            QTimer.singleShot(0, self.finish_route)

    def _cursor_moved(self, x: float, y: float) -> None:
        if self.mode == "draw_route" and self.route_points and x == x:
            self.sketch.set_points(self.route_points, (x, y))

    def remove_last_point(self) -> None:
        if self.mode == "draw_route" and self.route_points:
            self.route_points.pop()
            self.sketch.set_points(self.route_points)
            self.hint(self._hint())

    def finish_route(self) -> FormDialog | None:
        """Open the new route's form for the vertices drawn so far (exec'd unless testing)."""
        if self.mode != "draw_route":
            return None
        points = []
        for p in self.route_points:  # a double-click can leave the same vertex twice
            if not points or p != points[-1]:
                points.append(p)
        if len(points) < 2:
            self.status(tr("edit_route_too_short"))
            return None
        line = shapely.LineString([_lonlat(x, y) for x, y in points])
        first_lon, first_lat = line.coords[0]
        values = {"geom": line.wkt, "commune_code": editing.commune_at(self.db, first_lat, first_lon)}
        return self.open_form("fibre_routes", values=values)

    def set_target(self, table: str | None, uuid: str | None) -> None:
        self.target = (table, uuid) if table and uuid else None
        self.show_handles()

    def show_handles(self) -> None:
        if self.target is None or self.db is None:
            self.sketch.clear_handles()
            return
        table, uuid = self.target
        try:
            values = editing.read_values(self.db, table, uuid)
        except HatangError:
            values = {"deleted": True}
        if values.get("deleted"):
            self.target = None
            self.sketch.clear_handles()
            return
        if self.mode == "move" and table in editing.POINT_TABLES and values.get("lat") is not None:
            self.sketch.show_handles([_xy(values["lon"], values["lat"])], "point")
        elif self.mode == "vertices" and table == "fibre_routes":
            pts = [_xy(lon, lat) for lon, lat in editing.route_vertices(self.db, uuid)]
            self.sketch.show_handles(pts, "vertex", midpoints=True,
                                     min_gap=MIDPOINT_MIN_PX * self.canvas.metres_per_pixel(),
                                     vertex_gap=VERTEX_MIN_PX * self.canvas.metres_per_pixel(),
                                     within=self.canvas.view_extent())
        else:
            self.sketch.clear_handles()

    def _view_changed(self, *_args) -> None:
        if self.mode == "vertices" and self.target is not None:
            self._handle_timer.start()

    def _handles_after_zoom(self) -> None:
        # Never under the user's hand: rebuilding the handles while one is dragged took it out of
        # the scene mid-drag (pyqtgraph then failed in its drag handler and the drag was lost).
        # The view changes after every edit (the map is redrawn), so a drag begun soon after one
        # was dropped.
        if any(h.moving for h in self.sketch.handles):
            self._handle_timer.start()
            return
        self.show_handles()

    def _history_shown(self, shown: bool) -> None:
        table_dock = getattr(self.window, "table_dock", None)
        if shown and not self._tabified and table_dock is not None and table_dock.isVisible():
            self._tabified = True
            self.window.tabifyDockWidget(table_dock, self.history_dock)
        if shown:
            self.history_dock.raise_()
            self.refresh_history()

    def _handle_moved(self, index: int, kind: str, x: float, y: float) -> None:
        if self.target is None:
            return
        table, uuid = self.target
        lon, lat = _lonlat(x, y)
        if kind == "point":
            self.run(lambda: editing.move_point(self.db, table, uuid, lat, lon))
        elif kind == "vertex":
            self.run(lambda: editing.move_vertex(self.db, uuid, index, lat, lon))
        elif kind == "midpoint":
            self.run(lambda: editing.insert_vertex(self.db, uuid, index, lat, lon))

    def _handle_right_clicked(self, index: int, kind: str) -> None:
        if self.target is not None and kind == "vertex":
            uuid = self.target[1]
            self.run(lambda: editing.delete_vertex(self.db, uuid, index))

    # -- running edits --------------------------------------------------------------------------

    def run(self, edit) -> EditResult | None:
        """Do one core edit; on success push it for undo and redraw, else say why (and redraw the
        handles where they were)."""
        if not self.writable:
            self.report_error(tr("edit_readonly"))
            return None
        try:
            result = edit()
        except HatangError as exc:
            problems = getattr(exc, "problems", None)
            self.report_error("\n".join(message_text(m) for _, m in problems) if problems else exc)
            self.show_handles()
            return None
        self.push(result)
        return result

    def push(self, result: EditResult) -> None:
        """An edit done: one undo step, and its changes announced (the map follows), showing
        the edited record."""
        if result.changed:
            self.stack.push(EditCommand(self, result.operation_id, result.description))
            self.status(tr("edit_saved", text=result.description))
            self._focus = (result.table, result.uuid)
            self.events.announce(result.changes)
        else:
            self._show_record(result.table, result.uuid, gone=False)

    def push_operation(self, changes) -> None:
        """A write done elsewhere (an import, a rule check): one undo step when the database
        here can undo it, and its changes announced."""
        if changes.operation_id is not None and changes and self.writable:
            self.stack.push(EditCommand(self, changes.operation_id, changes.description))
        self.events.announce(changes)

    def stepped(self, result: EditResult) -> None:
        """An undo or redo done (commands.EditCommand): announced like any edit."""
        self.status(result.description)
        # One record edited: show it; an import undone: keep whatever the panel shows.
        one = sum(len(result.changes.touched(t)) for t in editing.EDITABLE) == 1
        self._focus = (result.table, result.uuid) if one and result.table in editing.EDITABLE else None
        self.events.announce(result.changes)

    def _data_changed(self, changes) -> None:
        """After the map: the record just edited, or the one the identify panel shows if the
        change touched it, is read again once; gone, the panel clears."""
        focus, self._focus = self._focus, None
        if focus is None:
            feature = self.window.identify_panel.feature
            focus = (feature.table, feature.uuid) if feature is not None else None
            if focus is not None and focus[1] not in changes.touched(focus[0]):
                return
        if focus is not None:
            self._show_record(*focus, gone=focus[1] in changes.deleted.get(focus[0], ()))

    def _show_record(self, table: str, uuid: str, gone: bool) -> None:
        """Show the record in the identify panel (cleared when it is gone), keep the handles on it."""
        feature = None
        if self.db is not None and table and not gone:
            try:
                feature = read_feature(self.db, table, uuid)
            except (HatangError, TypeError):  # TypeError: no such row
                feature = None
        self.window.identify_panel.show_feature(feature) if feature else self.window.identify_panel.clear()
        self.canvas.highlight(feature.geometry if feature else None)
        self.show_handles()
        self.refresh_history()

    def refresh_history(self) -> None:
        if not self.history_dock.isVisible():
            return
        feature = self.window.identify_panel.feature
        if feature is None or feature.table not in self.forms.forms:
            self.history_dock.clear()
            return
        code = schema.title(feature.table, feature.attributes)
        self.history_dock.show_record(self.db, feature.table, feature.uuid, code)

    # -- forms -----------------------------------------------------------------------------------

    def record_name(self, table: str) -> str:
        label = self.forms[table].label(language())
        return label[0].lower() + label[1:]

    def make_form(self, table: str, uuid: str | None = None, values: dict | None = None) -> FormDialog:
        """The form dialog of a new record (uuid None, starting from `values`) or of an existing one."""
        form = self.forms[table]
        child = editing.CHILDREN.get(table)
        children: list[dict] = []
        if uuid is not None:
            current = editing.read_values(self.db, table, uuid, forms=self.forms)
            children = editing.read_children(self.db, table, uuid, forms=self.forms)
            code = schema.title(table, current)
            title = tr("form_edit_title", record=self.record_name(table), code=code)
        else:
            current = editing.defaults(form) | (values or {})
            title = tr("form_add_title", record=self.record_name(table))
        dialog = FormDialog(title, form, self.forms.lists, self.communes(), current,
                            child_form=self.forms[child] if child else None, children=children,
                            parent=self.window)
        # What the form opened with: a save writes only what the user changed from it, so values
        # written meanwhile (an import) are not put back (core.editing.save_record's base).
        dialog.base = current if uuid is not None else None
        dialog.base_children = children if uuid is not None else None
        dialog.on_save = partial(self._save, dialog, table, uuid)
        self._attach_extras(dialog, table, uuid)
        self.last_dialog = dialog
        return dialog

    def _attach_extras(self, dialog: FormDialog, table: str, uuid: str | None) -> None:
        """Wire the photo strip and the GPS dock (the photos and GPS parts of the app)."""
        if getattr(self.window, "gps_panel", None) is not None:
            dialog.form_widget.set_gps_provider(self.gps_position)
        try:
            from ..photo_list import PhotoList
        except ImportError:  # pragma: no cover - the photos part is optional here
            return
        strip = PhotoList(dialog)
        strip.set_record(self.db, table, uuid)  # a new record's files wait until it is saved
        strip.error.connect(self.status)
        dialog.photos = strip
        dialog.set_photo_widget(strip)

    def gps_position(self) -> tuple[float, float, dict]:
        """The GPS dock's current position and its metadata, or GpsRefused saying why not."""
        from hatang_desktop.core.gps import GpsRefused

        panel = self.window.gps_panel
        got, refused = [], []
        accept = lambda lat, lon, meta: got.append((lat, lon, meta))  # noqa: E731
        panel.position_accepted.connect(accept)
        panel.position_refused.connect(refused.append)
        try:
            panel.use_position()
        finally:
            panel.position_accepted.disconnect(accept)
            panel.position_refused.disconnect(refused.append)
        if not got:
            raise GpsRefused(refused[0] if refused else tr("form_gps_missing"))
        return got[0]

    def open_form(self, table: str, uuid: str | None = None, values: dict | None = None) -> FormDialog:
        dialog = self.make_form(table, uuid, values)
        if dialog.exec() == QDialog.DialogCode.Accepted and self.mode == "draw_route":
            self.route_points = []
            self.sketch.set_points([])
            self.hint(self._hint())
        return dialog

    def new_values(self, table: str, lat: float, lon: float) -> dict:
        values = {"lat": lat, "lon": lon, "commune_code": editing.commune_at(self.db, lat, lon)}
        if table == "findings":
            values |= {"found_on": dt.date.today(), "inspector": self.db.user}
        return values

    def open_new(self, table: str, lat: float, lon: float) -> FormDialog:
        return self.open_form(table, values=self.new_values(table, lat, lon))

    def finding_values(self, x: float, y: float, tolerance_m: float) -> dict:
        """A finding at the click; on a site, pole, route or zone it concerns that record, placed on it."""
        lon, lat = _lonlat(x, y)
        feature = identify(self.db, x, y, tolerance_m)
        values = self.new_values("findings", lat, lon)
        if feature is not None and feature.table in FINDING_TARGETS:
            values |= {"target_table": feature.table, "target_uuid": feature.uuid}
            if feature.table in editing.POINT_TABLES:
                values |= {"lat": feature.attributes.get("lat", lat), "lon": feature.attributes.get("lon", lon)}
        return values

    def open_new_finding(self, x: float, y: float, tolerance_m: float) -> FormDialog:
        return self.open_form("findings", values=self.finding_values(x, y, tolerance_m))

    def _save(self, dialog: FormDialog, table: str, uuid: str | None, values: dict, children, allow=False):
        if not self.writable:
            return [("", tr("edit_readonly"))]
        try:
            result = editing.save_record(self.db, table, values, uuid=uuid, children=children,
                                         allow_duplicates=allow, gnss=dialog.form_widget.gnss(),
                                         forms=self.forms, base=getattr(dialog, "base", None),
                                         base_children=getattr(dialog, "base_children", None))
        except ValidationFailed as exc:
            return exc.problems
        except EditConflict as exc:
            return self._show_edit_conflict(dialog, table, exc)
        except DuplicateFound as exc:
            choice = self.ask_duplicates(exc.duplicates, dialog)
            if choice == SAVE:
                return self._save(dialog, table, uuid, values, children, allow=True)
            if choice == OPEN:
                dialog.reject()
                QTimer.singleShot(0, partial(self.open_form, "sites", exc.duplicates[0].uuid))
            return False
        except HatangError as exc:
            return [("", exc.text)]
        strip = getattr(dialog, "photos", None)
        if uuid is None and strip is not None and strip.pending_files():
            problems = strip.commit_pending(result.uuid)
            if problems:
                self.report_error("\n".join(problems))
        self.push(result)
        return True

    def _show_edit_conflict(self, dialog: FormDialog, table: str, exc: EditConflict) -> list[tuple[str, str]]:
        """The record changed while the form was open: the form now shows what is there, except
        the user's own changes; each clash is named under its field with the value written
        meanwhile, and saving again keeps the user's value (the user has seen both)."""
        form = self.forms[table]
        keep = set(exc.changed)
        if keep & {"lat", "lon"}:
            keep |= {"lat", "lon"}  # one position: both halves stay as the user placed it
        dialog.form_widget.set_values({k: v for k, v in exc.current.items() if k not in keep})
        dialog.base, dialog.base_children = exc.current, exc.current_children
        problems = []
        for key, _then, now, _mine in exc.fields:
            if key == EditConflict.SUB_LIST:
                problems.append(("", tr("edit_conflict_sub_list")))
                continue
            field = next((f for f in form.fields if f.key == key), None)
            if field is None:  # lat or lon: the position field
                field = next(f for f in form.fields if f.type == "position")
                shown = "—" if now is None else f"{now:.7f}"
            else:
                shown = "—" if now is None else display_value(field, now, self.forms.lists, dict(self.communes()))
            problems.append((field.key, tr("edit_conflict_field", value=shown)))
        return problems

    def ask_duplicates(self, duplicates, parent) -> str:
        return DuplicateDialog(duplicates, parent).ask()

    # -- acting on the identified feature ----------------------------------------------------------

    def selected(self) -> tuple[str, str] | None:
        feature = self.window.identify_panel.feature
        if feature is None:
            self.status(tr("edit_nothing_selected"))
            return None
        if feature.table not in editing.EDITABLE:
            self.status(tr("edit_not_editable"))
            return None
        return feature.table, feature.uuid

    def edit_selected(self) -> FormDialog | None:
        if not self.writable:
            self.report_error(tr("edit_readonly"))
            return None
        chosen = self.selected()
        return self.open_form(*chosen) if chosen else None

    def confirm_delete(self, table: str, code: str) -> bool:
        answer = QMessageBox.question(self.window, tr("delete_title"),
                                      tr("delete_question", record=self.record_name(table), code=code),
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> EditResult | None:
        if not self.writable:
            self.report_error(tr("edit_readonly"))
            return None
        chosen = self.selected()
        if chosen is None:
            return None
        table, uuid = chosen
        code = schema.title(table, self.window.identify_panel.feature.attributes)
        if not self.confirm_delete(table, code):
            return None
        return self.run(lambda: editing.delete_record(self.db, table, uuid))
