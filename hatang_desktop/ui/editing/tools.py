"""The edit tools on the map: adding at a click, drawing a route, moving a point and reshaping a
route by dragging handles (the sketch)."""

from __future__ import annotations

import shapely
from PySide6.QtCore import Qt, QTimer

from hatang_desktop.core import editing
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.geo.geodesy import geodesic_length_m
from hatang_desktop.core.geo.projection import lonlat_to_mercator, mercator_to_lonlat
from hatang_desktop.core.map_data import identify, read_feature

from ..map.overlays import format_distance
from ..strings import tr
from .form_dialog import FormDialog


ADD_TOOLS = ("add_sites", "add_poles", "draw_route", "add_findings")
TOOLS = ADD_TOOLS + ("move", "vertices")
MIDPOINT_MIN_PX = 36  # a segment shorter than this on screen gets no insert handle
VERTEX_MIN_PX = 16  # vertex handles closer than this on screen are thinned out until zoomed in


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = mercator_to_lonlat(x, y)
    return float(lon), float(lat)


def to_xy(lon: float, lat: float) -> tuple[float, float]:
    x, y = lonlat_to_mercator(lon, lat)
    return float(x), float(y)


class EditTools:
    """Mixed into EditController: which edit tool is on and what a click or a handle does with it."""

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
        self.snapper.show(None)
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
            pts = [to_lonlat(x, y) for x, y in self.route_points]
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
        lon, lat = to_lonlat(x, y)
        if self.mode in ("add_sites", "add_poles"):
            self.open_new(self.mode[4:], lat, lon)
        elif self.mode == "add_findings":
            self.open_new_finding(x, y, tolerance_m)
        elif self.mode == "draw_route":
            x, y = self.snapper.snap(x, y)  # through the pole: the vertex takes its position
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
        if self.mode != "draw_route":
            return
        if x != x:  # the pointer left the map
            self.snapper.show(None)
            return
        x, y = self.snapper.snap(x, y)
        if self.route_points:
            self.sketch.set_points(self.route_points, (x, y))

    def _snap_handle(self, x: float, y: float, modifiers, finished: bool) -> tuple[float, float]:
        """Where a dragged handle goes: onto a pole, site or vertex near it, not onto itself."""
        if self.target is None:
            return x, y
        exclude = {self.target}  # a point does not snap to itself, a route to its own vertices
        sx, sy = self.snapper.snap(x, y, exclude=exclude, modifiers=modifiers)
        if finished:
            self.snapper.show(None)
        return sx, sy

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
        line = shapely.LineString([to_lonlat(x, y) for x, y in points])
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
            self.sketch.show_handles([to_xy(values["lon"], values["lat"])], "point")
        elif self.mode == "vertices" and table == "fibre_routes":
            pts = [to_xy(lon, lat) for lon, lat in editing.route_vertices(self.db, uuid)]
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

    def _handle_moved(self, index: int, kind: str, x: float, y: float) -> None:
        if self.target is None:
            return
        table, uuid = self.target
        lon, lat = to_lonlat(x, y)
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
