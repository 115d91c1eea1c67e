"""Measuring on the map: a polyline's length or a polygon's area, geodesic on WGS84."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import shapely
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem

from hatang_desktop.core.geo.geodesy import geodesic_area_m2, geodesic_length_m
from hatang_desktop.core.geo.projection import mercator_to_lonlat

from . import style


def geodesic_measure(points_xy, closed: bool) -> tuple[float, float]:
    """(length or perimeter in m, area in m²) of map points (EPSG:3857)."""
    pts = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    if len(pts) < 2:
        return 0.0, 0.0
    lon, lat = mercator_to_lonlat(pts[:, 0], pts[:, 1])
    lonlat = np.column_stack([lon, lat])
    if closed and len(pts) >= 3:
        ring = np.vstack([lonlat, lonlat[:1]])
        return geodesic_length_m(ring), geodesic_area_m2(shapely.Polygon(ring))
    return geodesic_length_m(lonlat), 0.0


class MeasureOverlay:
    """The measured line (or polygon) and its vertices: two items, whatever the vertex count."""

    def __init__(self, plot) -> None:
        self.path = QGraphicsPathItem()
        self.path.setPen(style.pen(style.MEASURE_COLOUR, 2.5, Qt.PenStyle.DashLine))
        self.vertices = pg.ScatterPlotItem(pxMode=True, size=8, pen=style.pen("#ffffff", 1.5),
                                           brush=pg.mkBrush(style.MEASURE_COLOUR))
        for z, item in ((45, self.path), (46, self.vertices)):
            item.setZValue(z)
            item.setVisible(False)
            plot.addItem(item)

    def show(self, points, closed: bool) -> None:
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        self.path.setVisible(len(pts) > 0)
        self.vertices.setVisible(len(pts) > 0)
        if not len(pts):
            return
        shape = QPainterPath(QPointF(*pts[0]))
        for x, y in pts[1:]:
            shape.lineTo(x, y)
        if closed and len(pts) >= 3:
            shape.closeSubpath()
        self.path.setBrush(style.colour(style.MEASURE_FILL) if closed else QBrush())
        self.path.setPath(shape)
        self.vertices.setData(x=pts[:, 0], y=pts[:, 1])

    def clear(self) -> None:
        self.show([], False)
