"""The coverage layer: covered and uncovered villages and the model's coverage circles, as one
overlay item on the map (a group of three items however many villages and sites it shows)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from hatang_desktop.core.indicators.compute import TECH, Results
from hatang_desktop.core.geo.projection import lonlat_to_mercator

COVERED = QColor("#1a9850")
UNCOVERED = QColor("#d73027")
CIRCLE_COLOURS = {"4G": QColor(33, 102, 172), "5G": QColor(118, 42, 131)}
MAX_CIRCLES = 30_000  # a national database: the circles of the first ones only (a province has ~3,600)


def _circles(results: Results, technology: str) -> QGraphicsPathItem:
    ds, model = results.dataset, results.model
    s = ds.sites
    on = np.flatnonzero(s.tech[:, TECH[technology]])[:MAX_CIRCLES]
    area = np.append(ds.communes.area_type, None)[s.commune[on]]
    radius = np.array([model.radius(a, technology) for a in area])
    x, y = lonlat_to_mercator(s.lon[on], s.lat[on])
    # Web Mercator stretches distances by 1/cos(latitude): a circle of r metres is r/cos wide.
    r = radius / np.cos(np.radians(s.lat[on]))
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)  # overlapping circles fill once: the union
    for xi, yi, ri in zip(x, y, r):  # one path, one item: cheap to draw at any count
        path.addEllipse(QRectF(xi - ri, yi - ri, 2 * ri, 2 * ri))
    item = QGraphicsPathItem(path)
    colour = CIRCLE_COLOURS[technology]
    fill = QColor(colour)
    fill.setAlpha(40)
    pen = QPen(colour)
    pen.setCosmetic(True)
    pen.setWidthF(0.8)
    item.setPen(pen)
    item.setBrush(QBrush(fill))
    return item


class CoverageLayer(pg.ItemGroup):
    def __init__(self, results: Results) -> None:
        super().__init__()
        ds, cov = results.dataset, results.villages
        self.circles = {t: _circles(results, t) for t in ("4G", "5G")}
        for item in self.circles.values():
            item.setParentItem(self)
        x, y = lonlat_to_mercator(ds.villages.lon, ds.villages.lat)
        keep = cov.in_scope
        brushes = np.where(cov.mobile[keep], pg.mkBrush(COVERED), pg.mkBrush(UNCOVERED))
        self.villages = pg.ScatterPlotItem(x=x[keep], y=y[keep], size=8, brush=list(brushes),
                                           pen=pg.mkPen("w", width=1), symbol="s", pxMode=True)
        self.villages.setParentItem(self)
        self.covered_count = int(cov.mobile[keep].sum())
        self.uncovered_count = int((~cov.mobile[keep]).sum())

    def set_circles_visible(self, technology: str, visible: bool) -> None:
        self.circles[technology].setVisible(visible)

    def boundingRect(self) -> QRectF:  # the group draws nothing itself
        return QRectF()
