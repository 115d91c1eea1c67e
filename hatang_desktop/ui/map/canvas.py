"""The map canvas: a pyqtgraph plot in Web Mercator metres, axes hidden, aspect locked.

Tools: "pan" (drag pans, click identifies), "select" (drag draws a box; Shift+drag does the same
in any tool), "measure_line" and "measure_area" (clicks add vertices, double-click finishes, Esc
ends). Overlays (scale bar, north arrow) are children of the ViewBox and stay put on screen.

Public API other features rely on (keep it stable):

* ``set_map(data)``: show a ``core.map_data.MapData`` (or None) and zoom to its full extent;
  ``set_map_in_steps(data, done)`` does the same over several event-loop turns.
* ``refresh(data, keys=None)``: show edited data, keep the view; rebuild only ``keys`` layers.
* ``add_overlay(key, item, z=None)`` / ``remove_overlay(key)`` / ``overlay(key)``: extra
  graphics items in map metres (an indicators coverage layer, an editing sketch).
* ``layers[key]`` (``MapLayer``: ``data``, ``shown``, ``visible``), ``set_filter``,
  ``set_layer_visible``, ``set_labels_visible``, ``highlight(geometry)``, ``show_selection({key: indices})``,
  ``indices(key, uuids)``, ``is_identifiable(table, uuid)``, ``zoom_full``, ``zoom_to(extent)``,
  ``zoom_by(factor)``, ``view_extent()``, ``metres_per_pixel()``, ``scale_denominator()``.
* Signals: ``cursor_moved``, ``feature_clicked(x, y, tolerance_m)``, ``box_selected``,
  ``measure_changed``, ``scale_changed``, ``tool_changed``, ``basemap_problem``.

Drawing speed comes from the layers (layers/*.py, points.py, labels.py): each layer is a few
items that paint only what is in view, from data thinned or simplified for the scale.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
import shapely
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from hatang_desktop.core.map_data import Extent, MapData
from hatang_desktop.core.mbtiles import MBTiles

from .. import turns
from . import style
from .attribution import AttributionOverlay
from .basemap import BasemapItem
from .feature_labels import FeatureLabelItem
from .layers import NO_FILTER, LayerFilter, MapLayer, all_layers
from .measure import MeasureOverlay, geodesic_measure
from .overlays import NorthArrow, ScaleBar, ground_metres_per_pixel, scale_denominator

CLICK_TOLERANCE_PX = 8  # how far from a feature a click still picks it: a finger on a tablet
TOOLS = ("pan", "select", "measure_line", "measure_area")
POINT_ZOOM_RADIUS_M = 400.0  # zooming to a site or a pole shows this much around it
# A map being opened waits up to this long for its line images (aggregate.LinesImageItem) before
# its first paint, looking again every IMAGE_POLL_MS.
FIRST_IMAGES_WAIT_S, IMAGE_POLL_MS = 3.0, 20
# Time spent decoding new basemap tiles per timer tick: a zoom to a new level fills in over a
# few frames instead of freezing one for every tile's PNG (~1 ms each).
BASEMAP_STEP_S = 0.012


class MapViewBox(pg.ViewBox):
    """A ViewBox whose left drag draws a selection box in the select tool or with Shift."""

    def __init__(self) -> None:
        super().__init__()
        self.tool = "pan"
        self.on_box = None  # callback(Extent, additive) set by the canvas
        self.band = QGraphicsRectItem(0, 0, 1, 1)
        self.band.setPen(pg.mkPen("#1f6feb", width=1.5, style=Qt.PenStyle.DashLine))
        self.band.setBrush(pg.mkBrush("#1f6feb30"))
        self.band.setZValue(1e9)
        self.band.hide()
        self.addItem(self.band, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None) -> None:
        boxing = ev.button() == Qt.MouseButton.LeftButton and (
            self.tool == "select" or bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        if not boxing:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        a = self.mapToView(ev.buttonDownPos(Qt.MouseButton.LeftButton))
        b = self.mapToView(ev.pos())
        rect = QRectF(a, b).normalized()
        if ev.isFinish():
            self.band.hide()
            if self.on_box is not None:
                additive = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
                self.on_box(Extent(rect.left(), rect.top(), rect.right(), rect.bottom()), additive)
        else:
            self.band.setRect(rect)
            self.band.show()


class MapCanvas(pg.PlotWidget):
    cursor_moved = Signal(float, float)  # map x, y (metres); NaN when the cursor leaves the map
    feature_clicked = Signal(float, float, float)  # map x, y and the tolerance in metres
    box_selected = Signal(object, bool)  # Extent in map metres, additive (Ctrl held)
    measure_changed = Signal(float, float, bool)  # length/perimeter m, area m², finished
    scale_changed = Signal(float)  # map scale denominator (1:N)
    tool_changed = Signal(str)
    basemap_problem = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=style.BACKGROUND, viewBox=MapViewBox())
        plot = self.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.hideButtons()
        plot.setMenuEnabled(False)  # pyqtgraph's menu is English-only and talks about axes
        plot.setContentsMargins(0, 0, 0, 0)
        self.view: MapViewBox = plot.getViewBox()
        self.view.setAspectLocked(True)
        self.view.setDefaultPadding(0.02)
        self.view.on_box = lambda extent, additive: self.box_selected.emit(extent, additive)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.layers: dict[str, MapLayer] = {}
        for layer in all_layers():
            self.layers[layer.key] = layer
            for item in layer.items:
                plot.addItem(item)
        self.basemap = BasemapItem()
        plot.addItem(self.basemap, ignoreBounds=True)
        self.feature_labels = FeatureLabelItem(list(self.layers.values()))
        plot.addItem(self.feature_labels, ignoreBounds=True)
        self._extent = Extent(0.0, 0.0, 0.0, 0.0)
        self._overlays: dict[str, object] = {}
        self._make_highlight(plot)
        self.measure = MeasureOverlay(plot)
        self.measure_points: list[tuple[float, float]] = []
        self.measure_done = False
        self.tool = "pan"
        self.scale_bar = ScaleBar(self.view)
        self.north_arrow = NorthArrow(self.view)
        self.attribution = AttributionOverlay(self.view)
        self.feature_labels.obstacles = self._overlay_boxes
        # The basemap follows the view after the wheel or drag settles, not on every step.
        self._basemap_timer = QTimer(self)
        self._basemap_timer.setSingleShot(True)
        self._basemap_timer.setInterval(40)
        self._basemap_timer.timeout.connect(self._refresh_basemap_step)
        self.view.sigRangeChanged.connect(self._range_changed)
        self.view.sigResized.connect(self._range_changed)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)

    # -- data ----------------------------------------------------------------------------

    def set_map(self, data: MapData | None) -> None:
        """Show a database's layers (core.map_data.read_map), or nothing (None) after a failed
        open, and zoom to its full extent. Clears the highlight, the selection display and any
        measurement. Blocks until every item is built: ~50 ms for a province, ~1 s nationally
        (the window uses set_map_in_steps instead)."""
        for layer in self.layers.values():
            for _ in layer.set_data_steps(data):
                pass
            layer.set_visible(layer.visible)
        self._after_new_data(data, keep_view=False)

    def refresh(self, data: MapData, keys=None) -> None:
        """Show edited data and keep the view where it is (after an edit, an import).

        `keys`: the layers to rebuild (e.g. {"sites"}), default all; the others keep their
        items, so adding one site rebuilds one layer (~10 ms for a province), not the map.
        Feature indices change with new data: the highlight and the selection display are
        cleared; re-select by uuid with `indices(key, uuids)` if needed."""
        for key, layer in self.layers.items():
            if keys is None or key in keys:
                for _ in layer.set_data_steps(data):
                    pass
                layer.set_visible(layer.visible)
        self._after_new_data(data, keep_view=True)

    def apply_updates(self, updates: dict, reloaded: dict) -> None:
        """Show an edit (core.map_patch.read_updates): each layer drops and adds the changed
        features in place; admin layers take what was read again. The view stays, and so does
        the highlight; the selection display is the caller's (feature indices moved)."""
        for layer in self.layers.values():
            if layer.fields and layer.fields[0] in updates:
                layer.apply_update(updates[layer.fields[0]])
            elif reloaded:
                layer.reload(reloaded)
        self.feature_labels.forget()

    def set_map_in_steps(self, data: MapData, done) -> None:
        """set_map spread over event-loop turns, a piece of a layer per turn (no turn blocks the
        GUI for long: a few ms for a province, ~250 ms at worst nationally), so the window
        keeps painting and answering while a big database's items are built; then done().
        The map itself is not repainted until it is complete: half-built frames cost time and
        show nothing useful. What the first view needs (simplified lines, symbol atlases, name placement)
        is made before it is shown, one item per turn."""
        self.setUpdatesEnabled(False)
        steps = [layer.set_data_steps(data) for layer in self.layers.values()]

        def first_view():
            self._after_new_data(data, keep_view=False)
            mpp, dpr = self.metres_per_pixel(), self.devicePixelRatioF()
            for layer in self.layers.values():
                layer.set_visible(layer.visible)
                for item in layer.items:
                    if hasattr(item, "prepare_view") and item.isVisible():
                        item.prepare_view(mpp, dpr)
                        yield
            # The country's lines are drawn as images rendered on a worker: until they come,
            # the first paint would stroke every line itself (~100 ms of the GUI thread, twice
            # as the panels fill, 400 ms each under load). Wait a little for them instead,
            # answering events meanwhile.
            deadline = time.monotonic() + FIRST_IMAGES_WAIT_S
            while time.monotonic() < deadline and any(
                    item.awaited(mpp) for layer in self.layers.values() for item in layer.items
                    if hasattr(item, "awaited")):
                yield IMAGE_POLL_MS

        steps.append(first_view())

        def step() -> None:
            while steps:
                try:
                    delay = next(steps[0])
                except StopIteration:
                    steps.pop(0)
                    continue
                except BaseException:
                    self.setUpdatesEnabled(True)  # a failed build must not leave the map frozen
                    raise
                turns.later(step, delay_ms=delay if isinstance(delay, int) else 0)
                return
            self.setUpdatesEnabled(True)
            done()

        step()

    def set_layers_in_steps(self, data: MapData, keys, done) -> None:
        """Layers `keys` take their part of `data` over event-loop turns, the view staying
        where it is (the poles that arrive after the map is shown); then done()."""
        steps = [self.layers[key].set_data_steps(data) for key in keys]

        def step() -> None:
            while steps:
                try:
                    next(steps[0])
                except StopIteration:
                    steps.pop(0)
                    continue
                turns.later(step)
                return
            for key in keys:
                layer = self.layers[key]
                layer.view_changed(self.metres_per_pixel())
                layer.set_visible(layer.visible)
            self.feature_labels.forget()
            done()

        step()

    def _after_new_data(self, data: MapData | None, keep_view: bool) -> None:
        self.feature_labels.forget()
        self.highlight(None)
        self.show_selection({})
        self.end_measure()
        self._extent = data.extent if data else Extent(0.0, 0.0, 0.0, 0.0)
        if keep_view:
            self._range_changed()
        else:
            self.zoom_full()

    def indices(self, key: str, uuids) -> np.ndarray:
        """Indices into layer `key`'s data of the given uuids (unknown ones skipped), e.g. to
        re-select features after `refresh`."""
        data = self.layers[key].data
        if data is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(np.isin(data.uuid, np.asarray(list(uuids), dtype=str)))

    def is_identifiable(self, table: str, uuid: str) -> bool:
        """Whether a click may pick this record: its layer is drawn at this scale (switched on,
        and poles only when zoomed in) and the feature passes the layer's filter."""
        for layer in self.layers.values():
            if layer.table != table or (table == "admin_units" and layer.key != "boundaries"):
                continue
            if not layer.is_drawn():
                return False
            if layer.data is None or not layer.filterable:
                return True
            i = layer.index_of(uuid)
            return i is not None and bool(layer.shown[i])
        return True

    # -- overlays from other features --------------------------------------------------------

    def add_overlay(self, key: str, item, z: float | None = None) -> None:
        """Draw an extra QGraphicsItem (in map metres, EPSG:3857) over the map: a coverage
        layer, an editing sketch. Replaces the overlay of the same key; it stays across
        set_map/refresh until remove_overlay. Its bounds never change the full extent. Draw it
        as ONE item however many features it shows (see PITFALLS: per-feature items crawl).
        `z` above 20 puts it over every layer, between -30 and 0 under points and lines."""
        self.remove_overlay(key)
        if z is not None:
            item.setZValue(z)
        self.getPlotItem().addItem(item, ignoreBounds=True)
        self._overlays[key] = item

    def remove_overlay(self, key: str) -> None:
        """Take the overlay `key` off the map (nothing if there is none)."""
        item = self._overlays.pop(key, None)
        if item is not None:
            self.getPlotItem().removeItem(item)

    def overlay(self, key: str):
        """The overlay item added under `key`, or None."""
        return self._overlays.get(key)

    def set_filter(self, layer_filter: LayerFilter = NO_FILTER) -> None:
        for layer in self.layers.values():
            if layer.filterable:
                layer.set_filter(layer_filter)

    def set_layer_visible(self, key: str, visible: bool) -> None:
        self.layers[key].set_visible(visible)

    def _overlay_boxes(self) -> list[QRectF]:
        """Where the scale bar and the north arrow sit, in viewport pixels: no label goes under them."""
        return [QRectF(self.mapFromScene(item.mapRectToScene(item.boundingRect())).boundingRect())
                for item in (self.scale_bar, self.north_arrow, self.attribution) if item.isVisible()]

    def set_labels_visible(self, key: str, visible: bool) -> None:
        """Site codes, pole numbers or route codes of layer `key` on or off (large scales only)."""
        self.layers[key].labels_visible = visible
        self.feature_labels.update()

    def set_basemap(self, source: MBTiles | None) -> None:
        self.basemap.set_source(source)
        self.attribution.set_text(source.metadata.get("attribution") if source is not None else None)
        # The land fill would hide the basemap; without one it is what makes the province read.
        self.layers["boundaries"].land.setVisible(source is None)
        self.refresh_basemap()

    def refresh_basemap(self, budget_s: float | None = None) -> bool:
        """The basemap's tiles for the view; True when all are there (see BasemapItem.update_view)."""
        if self.basemap.source is None:
            return True
        (x0, x1), (y0, y1) = self.view.viewRange()
        if not self.basemap.update_view(x0, y0, x1, y1, self.metres_per_pixel(), budget_s):
            return False
        # Every refresh says how this view is, "0/0" included: the window takes back a note
        # about missing tiles once the view has none.
        self.basemap_problem.emit(f"{len(self.basemap.missing)}/{len(self.basemap.damaged)}")
        return True

    def _refresh_basemap_step(self) -> None:
        if not self.refresh_basemap(BASEMAP_STEP_S):
            self._basemap_timer.start()

    # -- highlight and selection ---------------------------------------------------------

    def _make_highlight(self, plot) -> None:
        # The identified feature: a halo under points, a glow along lines and outlines.
        self.highlight_point = pg.ScatterPlotItem(pxMode=True, symbol="o", size=26,
                                                  pen=style.pen(style.HIGHLIGHT, 3.0), brush=pg.mkBrush(None))
        self.highlight_path = QGraphicsPathItem()
        self.highlight_path.setPen(style.pen(style.HIGHLIGHT, 5.0))
        # The selection: one scatter for every selected point, one path for every selected line.
        self.selection_points = pg.ScatterPlotItem(pxMode=True, symbol="o", size=18, pen=pg.mkPen(None),
                                                   brush=pg.mkBrush(style.SELECTION))
        self.selection_path = QGraphicsPathItem()
        self.selection_path.setPen(style.pen(style.SELECTION, 6.0))
        for z, item in ((40, self.highlight_point), (40, self.highlight_path),
                        (8, self.selection_points), (-1, self.selection_path)):
            item.setZValue(z)
            item.setVisible(False)
            plot.addItem(item)

    def highlight(self, geometry: shapely.Geometry | None) -> None:
        """Mark one feature (EPSG:3857 geometry), or clear the mark with None."""
        self.highlight_point.setVisible(False)
        self.highlight_path.setVisible(False)
        if geometry is None or geometry.is_empty:
            return
        if geometry.geom_type == "Point":
            self.highlight_point.setData(x=[geometry.x], y=[geometry.y])
            self.highlight_point.setVisible(True)
            return
        parts = shapely.get_rings(geometry) if geometry.geom_type.endswith("Polygon") else [geometry]
        coords, index = shapely.get_coordinates(parts, return_index=True)
        connect = np.ones(len(coords), dtype=np.ubyte)
        connect[np.flatnonzero(np.diff(index))] = 0
        self.highlight_path.setPath(pg.arrayToQPath(coords[:, 0], coords[:, 1], connect=connect))
        self.highlight_path.setVisible(True)

    def show_selection(self, selection: dict[str, np.ndarray]) -> None:
        """Highlight selected features: {layer key: feature indices into that layer's data}."""
        xs, ys, paths = [], [], []
        for key, idx in selection.items():
            data = self.layers[key].data
            if data is None or not len(idx):
                continue
            if hasattr(data, "connect"):
                mask = np.zeros(len(data), bool)
                mask[idx] = True
                paths.append(data.subset(mask))
            else:
                xs.append(data.x[idx])
                ys.append(data.y[idx])
        if xs:
            self.selection_points.setData(x=np.concatenate(xs), y=np.concatenate(ys))
        self.selection_points.setVisible(bool(xs))
        if paths:
            x, y, c = (np.concatenate(p) for p in zip(*paths))
            self.selection_path.setPath(pg.arrayToQPath(x, y, connect=c))
        self.selection_path.setVisible(bool(paths))

    # -- navigation ----------------------------------------------------------------------

    def zoom_full(self) -> None:
        e = self._extent
        if e.empty:
            self.view.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        else:
            self.view.setRange(xRange=(e.min_x, e.max_x), yRange=(e.min_y, e.max_y))

    def zoom_to(self, extent: Extent, padding: float = 0.05) -> None:
        """Show `extent` (map metres); a point or a tiny box gets POINT_ZOOM_RADIUS_M around it."""
        cx, cy = (extent.min_x + extent.max_x) / 2, (extent.min_y + extent.max_y) / 2
        half_w = max((extent.max_x - extent.min_x) / 2, POINT_ZOOM_RADIUS_M)
        half_h = max((extent.max_y - extent.min_y) / 2, POINT_ZOOM_RADIUS_M)
        self.view.setRange(xRange=(cx - half_w, cx + half_w), yRange=(cy - half_h, cy + half_h),
                           padding=padding)

    GROUP_ZOOM = 0.25  # a click on a group of findings shows its area 4x closer

    def zoom_into_group(self, x: float, y: float) -> bool:
        """A click at (x, y) on a group of findings (a disc with a count) zooms in on it, centred
        there; True when there was one (the click is then not an identify)."""
        layer = self.layers.get("findings")
        group = layer.group_at(x, y, self.metres_per_pixel()) if layer is not None else None
        if group is None:
            return False
        self.view.scaleBy((self.GROUP_ZOOM, self.GROUP_ZOOM), center=QPointF(group[0], group[1]))
        return True

    def zoom_by(self, factor: float) -> None:
        """factor < 1 zooms in, about the centre of the view."""
        self.view.scaleBy((factor, factor))

    def metres_per_pixel(self) -> float:
        width_px = max(self.view.width(), 1.0)
        (x0, x1), _ = self.view.viewRange()
        return (x1 - x0) / width_px

    def scale_denominator(self) -> float:
        return scale_denominator(ground_metres_per_pixel(self.view), self.logicalDpiX())

    def view_extent(self) -> Extent:
        (x0, x1), (y0, y1) = self.view.viewRange()
        return Extent(x0, y0, x1, y1)

    # -- tools ---------------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        if tool != self.tool:
            self.end_measure()
            self.tool = tool
            self.view.tool = tool
            self.setCursor(Qt.CursorShape.ArrowCursor if tool == "pan" else Qt.CursorShape.CrossCursor)
            self.tool_changed.emit(tool)

    def add_measure_point(self, x: float, y: float) -> None:
        if self.measure_done:  # a click after a finished measurement starts a new one
            self.measure_points, self.measure_done = [], False
        self.measure_points.append((x, y))
        self._show_measure(self.measure_points)

    def finish_measure(self) -> None:
        self.measure_done = True
        self._show_measure(self.measure_points)

    def end_measure(self) -> None:
        self.measure_points, self.measure_done = [], False
        self.measure.clear()
        self.measure_changed.emit(0.0, 0.0, True)

    def _show_measure(self, points) -> None:
        closed = self.tool == "measure_area"
        self.measure.show(points, closed)
        length, area = geodesic_measure(points, closed)
        self.measure_changed.emit(length, area, self.measure_done)

    # -- events --------------------------------------------------------------------------

    def _range_changed(self, *_args) -> None:
        mpp = self.metres_per_pixel()
        for layer in self.layers.values():
            layer.view_changed(mpp)
        self.scale_bar.refresh()
        self.north_arrow.refresh()
        self.attribution.refresh()
        if self.basemap.source is not None:
            self._basemap_timer.start()
        denominator = self.scale_denominator()
        if math.isfinite(denominator):
            self.scale_changed.emit(denominator)

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        if self.view.sceneBoundingRect().contains(scene_pos):
            p = self.view.mapSceneToView(scene_pos)
            self.cursor_moved.emit(p.x(), p.y())
            if self.tool.startswith("measure") and self.measure_points and not self.measure_done:
                self._show_measure([*self.measure_points, (p.x(), p.y())])  # the rubber band
        else:
            self.cursor_moved.emit(float("nan"), float("nan"))

    def _mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if not self.view.sceneBoundingRect().contains(event.scenePos()):
            return
        p = self.view.mapSceneToView(event.scenePos())
        if self.tool.startswith("measure"):
            if event.double():
                self.finish_measure()
            else:
                self.add_measure_point(p.x(), p.y())
            return
        if event.double():
            return
        self.feature_clicked.emit(p.x(), p.y(), CLICK_TOLERANCE_PX * self.metres_per_pixel())

    def mouseDoubleClickEvent(self, event) -> None:
        super().mouseDoubleClickEvent(event)
        # pyqtgraph records the double-click behind the plain click of the second press and its
        # release reports only the first one (pyqtgraph issue #91): sigMouseClicked never said
        # double(), so a double-click ended neither a route being drawn nor a measurement. Keep
        # the double-click alone for its button, so the release reports it.
        scene = self.scene()
        events = getattr(scene, "clickEvents", None)
        if events and any(e.double() and e.button() == event.button() for e in events):
            scene.clickEvents = [e for e in events if e.double() or e.button() != event.button()]

    def keyPressEvent(self, event) -> None:
        # +/- zoom even without the menu shortcuts (the canvas keeps focus while panning).
        if event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(0.5)
        elif event.key() == Qt.Key.Key_Minus:
            self.zoom_by(2.0)
        elif event.key() == Qt.Key.Key_Escape:
            self.end_measure()
            self.set_tool("pan")
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.tool.startswith("measure"):
            self.finish_measure()
        else:
            super().keyPressEvent(event)
