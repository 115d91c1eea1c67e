"""What editing draws over the map: the route being drawn, and the handles that drag points and
vertices. Items go through the canvas's overlay API when it has one (add_overlay/remove_overlay),
else straight onto its plot, so the layers underneath are never touched."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

SKETCH_COLOUR = "#d81b60"
HANDLE_Z = 60


def add_item(canvas, key: str, item) -> None:
    if hasattr(canvas, "add_overlay"):
        canvas.add_overlay(key, item)
    else:
        canvas.getPlotItem().addItem(item, ignoreBounds=True)


def remove_item(canvas, key: str, item) -> None:
    if hasattr(canvas, "remove_overlay"):
        canvas.remove_overlay(key)
    elif item.scene() is not None:
        canvas.getPlotItem().removeItem(item)


class Handle(pg.TargetItem):
    """A square (a vertex, a point) or a small circle (a midpoint) that can be dragged; right-click
    reports too, for deleting a vertex."""

    def __init__(self, x: float, y: float, index: int, kind: str, on_moved, on_right_click=None) -> None:
        midpoint = kind == "midpoint"
        super().__init__(pos=(x, y), size=8 if midpoint else 11, symbol="o" if midpoint else "s",
                         pen=pg.mkPen(SKETCH_COLOUR, width=2),
                         brush=pg.mkBrush("#ffffffcc" if midpoint else "#ffffff"),
                         hoverBrush=pg.mkBrush(SKETCH_COLOUR), movable=True)
        self.index, self.kind = index, kind
        self.on_right_click = on_right_click
        self.snap = None  # (x, y, modifiers) -> (x, y): where a drag to (x, y) lands (snapping)
        self.setZValue(HANDLE_Z + (0 if midpoint else 1))
        self.sigPositionChangeFinished.connect(lambda item: on_moved(item.index, item.kind, item.pos().x(),
                                                                     item.pos().y()))

    def mouseDragEvent(self, ev) -> None:
        # pg.TargetItem's drag, with the place snapped before the handle goes there (and before
        # the drop is reported, so the edit stores the target's position).
        if not self.movable or ev.button() != Qt.MouseButton.LeftButton:
            return
        ev.accept()
        if ev.isStart():
            self.symbolOffset = self.pos() - self.mapToView(ev.buttonDownPos())
            self.moving = True
        if not self.moving:
            return
        p = self.symbolOffset + self.mapToView(ev.pos())
        x, y = p.x(), p.y()
        if self.snap is not None:
            x, y = self.snap(x, y, ev.modifiers(), ev.isFinish())
        self.setPos(x, y)
        if ev.isFinish():
            self.moving = False
            self.sigPositionChangeFinished.emit(self)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.RightButton and not self.moving and self.on_right_click is not None:
            ev.accept()
            self.on_right_click(self.index, self.kind)
            return
        super().mouseClickEvent(ev)


class Sketch(QObject):
    """The editing overlay of one canvas."""

    handle_moved = Signal(int, str, float, float)  # index, kind (point, vertex, midpoint), map x, y
    handle_right_clicked = Signal(int, str)

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.line = pg.PlotCurveItem(pen=pg.mkPen(SKETCH_COLOUR, width=3))
        self.band = pg.PlotCurveItem(pen=pg.mkPen(SKETCH_COLOUR, width=1.5, style=Qt.PenStyle.DashLine))
        self.vertices = pg.ScatterPlotItem(pxMode=True, symbol="s", size=9, pen=pg.mkPen(SKETCH_COLOUR, width=2),
                                           brush=pg.mkBrush("#ffffff"))
        for key, item in (("edit_line", self.line), ("edit_band", self.band), ("edit_vertices", self.vertices)):
            item.setZValue(HANDLE_Z - 1)
            add_item(canvas, key, item)
        self.handles: list[Handle] = []
        self.points: list[tuple[float, float]] = []  # the route being drawn, map metres
        self.snap_handle = None  # set by the controller: (x, y, modifiers, finished) -> (x, y)

    # -- the route being drawn -----------------------------------------------------------------

    def set_points(self, points: list[tuple[float, float]], cursor: tuple[float, float] | None = None) -> None:
        self.points = list(points)
        if points:
            xy = np.array(points, dtype=float)
            self.line.setData(xy[:, 0], xy[:, 1])
            self.vertices.setData(x=xy[:, 0], y=xy[:, 1])
        else:
            self.line.setData([], [])
            self.vertices.setData(x=[], y=[])
        if points and cursor is not None:
            self.band.setData([points[-1][0], cursor[0]], [points[-1][1], cursor[1]])
        else:
            self.band.setData([], [])

    # -- handles -----------------------------------------------------------------------------

    def clear_handles(self) -> None:
        for i, h in enumerate(self.handles):
            remove_item(self.canvas, f"edit_handle_{i}", h)
        self.handles = []

    def show_handles(self, points: list[tuple[float, float]], kind: str, midpoints: bool = False,
                     min_gap: float = 0.0, vertex_gap: float = 0.0, within=None) -> None:
        """Handles on `points` (map metres); with `midpoints`, a smaller one halfway along each
        segment at least `min_gap` long, which inserts a vertex when dragged. `within` (an Extent)
        leaves out handles outside the view: a long route can have thousands of vertices."""
        self.clear_handles()

        def shown(x: float, y: float) -> bool:
            return within is None or (within.min_x <= x <= within.max_x and within.min_y <= y <= within.max_y)

        items, last = [], None
        for i, (x, y) in enumerate(points):
            # Vertices closer on screen than a handle are thinned out (the first and last always
            # stay): zooming in brings every one of them back.
            ends = i in (0, len(points) - 1)
            if shown(x, y) and (ends or last is None or math.hypot(x - last[0], y - last[1]) >= vertex_gap):
                items.append(Handle(x, y, i, kind, self._moved, self._right))
                last = (x, y)
        if midpoints:
            for i in range(len(points) - 1):
                (x0, y0), (x1, y1) = points[i], points[i + 1]
                mx, my = (x0 + x1) / 2, (y0 + y1) / 2
                if math.hypot(x1 - x0, y1 - y0) >= min_gap and shown(mx, my):
                    items.append(Handle(mx, my, i + 1, "midpoint", self._moved))
        for i, h in enumerate(items):
            h.snap = self.snap_handle
            add_item(self.canvas, f"edit_handle_{i}", h)
        self.handles = items

    def _moved(self, index: int, kind: str, x: float, y: float) -> None:
        self.handle_moved.emit(index, kind, x, y)

    def _right(self, index: int, kind: str) -> None:
        self.handle_right_clicked.emit(index, kind)

    def clear(self) -> None:
        self.set_points([])
        self.clear_handles()
