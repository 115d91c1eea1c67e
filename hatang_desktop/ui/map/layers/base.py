"""What every map layer shares: the legend entry, the filter, item helpers, the base class.

A layer draws a whole record type with one item (all sites in one scatter, all routes of one
operator and method in one path), because thousands of items make pyqtgraph crawl (PITFALLS).
The canvas only adds the items; the layer alone decides what they show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem, QStyleOptionGraphicsItem

from hatang_desktop.core.map_data import MapData, operator_mask, technology_mask
from hatang_desktop.core.operators import OPERATORS

from ...strings import tr


@dataclass
class LegendEntry:
    """What the layer panel draws as a swatch: a point symbol, a line, or a filled area."""

    label: str
    kind: str  # "symbol" | "line" | "fill" | "note" (text only)
    pen: QPen | None = None
    brush: QBrush | None = None
    symbol: object = "o"


@dataclass(frozen=True)
class LayerFilter:
    """Which operators and technologies to show; None means "all"."""

    operators: frozenset[str] | None = None
    technologies: frozenset[str] | None = None

    @property
    def active(self) -> bool:
        return self.operators is not None or self.technologies is not None

    def operator_mask(self, op_bits: np.ndarray) -> np.ndarray:
        if self.operators is None:
            return np.ones(len(op_bits), bool)
        return (op_bits & operator_mask(self.operators)) != 0

    def site_mask(self, op_bits: np.ndarray, tech_bits: np.ndarray) -> np.ndarray:
        """A site passes when one of the chosen operators broadcasts one of the chosen technologies
        there; with every technology allowed, being the owner or a tenant is enough."""
        if self.technologies is None:
            return self.operator_mask(op_bits)
        ops = self.operators if self.operators is not None else [op.code for op in OPERATORS]
        return (tech_bits & technology_mask(ops, self.technologies)) != 0


NO_FILTER = LayerFilter()


def make_path(x: np.ndarray, y: np.ndarray, connect: np.ndarray) -> QPainterPath:
    if len(x) == 0:
        return QPainterPath()
    return pg.arrayToQPath(x, y, connect=connect)


def path_item(pen: QPen | None, brush: QBrush | None, z: float) -> QGraphicsPathItem:
    item = QGraphicsPathItem()
    item.setPen(pen if pen is not None else QPen(Qt.PenStyle.NoPen))
    item.setBrush(brush if brush is not None else QBrush(Qt.BrushStyle.NoBrush))
    item.setZValue(z)
    return item


class TiledPathItem(QGraphicsObject):
    """ONE item drawing many lines, cut into a grid of paths so a paint strokes only the cells
    in view. A single QPainterPath of a million vertices costs ~600 ms per repaint even when
    zoomed into one town: Qt walks (and clips) every segment."""

    GRID = 24  # cells along the longer side of the data's extent

    def __init__(self, pen: QPen, z: float) -> None:
        super().__init__()
        self.pen = pen
        self.tiles: list[tuple[QRectF, QPainterPath]] = []
        self._rect = QRectF()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def set_arrays(self, x: np.ndarray, y: np.ndarray, connect: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.tiles = []
        self._rect = QRectF()
        if len(x):
            ends = np.flatnonzero(connect == 0)
            starts = np.r_[0, ends[:-1] + 1]
            x0, y0 = float(x.min()), float(y.min())
            cell = max(float(x.max()) - x0, float(y.max()) - y0, 1.0) / self.GRID
            # A part belongs to the cell of its first vertex; the cell's rect covers all of it.
            cx = ((x[starts] - x0) // cell).astype(np.int64)
            cy = ((y[starts] - y0) // cell).astype(np.int64)
            part_cell = cx * (self.GRID + 1) + cy
            part_of_vertex = np.repeat(np.arange(len(starts)), ends - starts + 1)
            vertex_cell = part_cell[part_of_vertex]
            order = np.argsort(vertex_cell, kind="stable")
            xs, ys, cs, vc = x[order], y[order], connect[order], vertex_cell[order]
            bounds = np.flatnonzero(np.r_[True, np.diff(vc) != 0, True])
            for a, b in zip(bounds[:-1], bounds[1:]):
                rect = QRectF(float(xs[a:b].min()), float(ys[a:b].min()),
                              float(xs[a:b].max() - xs[a:b].min()), float(ys[a:b].max() - ys[a:b].min()))
                self.tiles.append((rect, pg.arrayToQPath(xs[a:b], ys[a:b], connect=cs[a:b])))
                self._rect = self._rect.united(rect)
        self.update()

    def is_empty(self) -> bool:
        return not self.tiles

    def boundingRect(self) -> QRectF:
        # Pens are cosmetic (pixels), so no margin in map units is needed beyond a hair.
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter, option: QStyleOptionGraphicsItem, _widget=None) -> None:
        # What the device shows, in item coordinates: exposedRect alone is the whole item when
        # the scene is rendered to an image (export, benchmarks).
        inverse, ok = painter.worldTransform().inverted()
        device = painter.device()
        exposed = option.exposedRect
        if ok and device is not None:
            exposed = exposed.intersected(inverse.mapRect(QRectF(0, 0, device.width(), device.height())))
        painter.setPen(self.pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rect, path in self.tiles:
            if rect.intersects(exposed) or (rect.width() == 0 or rect.height() == 0) and exposed.contains(rect.center()):
                painter.drawPath(path)


def choose(mask: np.ndarray, yes, no) -> np.ndarray:
    """Per-spot Qt objects (pens, brushes) as an object array; np.where would try to unpack them."""
    out = np.empty(len(mask), dtype=object)
    out[:] = [no] * len(mask)
    out[mask] = [yes] * int(np.count_nonzero(mask))
    return out


def scatter(z: float) -> pg.ScatterPlotItem:
    item = pg.ScatterPlotItem(pxMode=True, hoverable=False)
    item.setZValue(z)
    return item


class MapLayer:
    key = ""
    title_key = ""
    table = ""  # the database table behind the layer, for selection and the attribute table
    visible_by_default = True
    filterable = False  # by operator (and technology for sites)

    def __init__(self) -> None:
        self.items: list[QGraphicsItem] = []
        self.visible = self.visible_by_default
        self.data = None  # the core PointLayer / PathLayer
        self.filter = NO_FILTER
        self.shown = np.zeros(0, bool)  # per feature: passes the filter

    @property
    def title(self) -> str:
        return tr(self.title_key)

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for item in self.items:
            item.setVisible(visible)

    def set_data(self, data: MapData | None) -> None:
        raise NotImplementedError

    def set_filter(self, layer_filter: LayerFilter) -> None:
        """Feed the same items with the features that pass (filterable layers override)."""
        self.filter = layer_filter

    def feature_count(self) -> int:
        """Features drawn (after the filter)."""
        return int(np.count_nonzero(self.shown))

    def total_count(self) -> int:
        return len(self.data) if self.data is not None else 0

    def legend(self) -> list[LegendEntry]:
        return []

    def view_changed(self, metres_per_pixel: float) -> None:
        """Called when the zoom changes, for layers that thin out when zoomed far out."""
