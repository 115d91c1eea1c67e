"""Points grouped on screen: a count per grid cell, coloured by the most serious point in it.

Seven thousand findings at province scale are a red carpet; what helps is where they are and how
bad. ClusterItem bins the points in view into square cells CELL_PX pixels wide and draws one
disc per cell with its count, in the colour of the cell's highest rank (the most serious
severity); a cell holding one point draws that point's own symbol. The grid is anchored in map
units (cells are CELL_PX pixels at the current zoom), so panning does not reshuffle the groups;
only a zoom does. Binning is numpy over the points in view (a grid query, points.py), once per
view: a repaint of the same view reuses the groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem

from .points import PointStyle, _Grid, painted_view, render_style

CELL_PX = 64.0  # a group's cell, in screen pixels
MIN_RADIUS_PX, MAX_RADIUS_PX = 11.0, 22.0


@dataclass
class Groups:
    """Points of one view, grouped: per cell the mean position (map units), the count and the
    highest rank; `single` marks cells of one point."""

    x: np.ndarray
    y: np.ndarray
    count: np.ndarray
    worst: np.ndarray

    @property
    def single(self) -> np.ndarray:
        return self.count == 1

    def __len__(self) -> int:
        return len(self.count)


NO_GROUPS = Groups(np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int32))


def group_points(x: np.ndarray, y: np.ndarray, rank: np.ndarray, cell: float) -> Groups:
    """Points binned into `cell` x `cell` squares of map units anchored at the origin: per
    occupied square the points' mean position, their count and their highest rank. A view
    holds a few hundred squares, so they are numbered densely and counted with bincount: no
    sort of the points."""
    if not len(x):
        return NO_GROUPS
    gx = np.floor(x / cell).astype(np.int64)
    gy = np.floor(y / cell).astype(np.int64)
    gx -= gx.min()
    gy -= gy.min()
    key = gx * (int(gy.max()) + 1) + gy
    size = int(key.max()) + 1
    count = np.bincount(key, minlength=size)
    used = np.flatnonzero(count)
    sx = np.bincount(key, x, minlength=size)[used]
    sy = np.bincount(key, y, minlength=size)[used]
    rank = np.asarray(rank)
    worst = np.full(len(used), int(rank.min()), np.int32)
    for r in np.unique(rank)[1:]:  # a handful of ranks: one count each, not ufunc.at per point
        worst[np.bincount(key, rank == r, minlength=size)[used] > 0] = r
    count = count[used]
    return Groups(sx / count, sy / count, count, worst)


def radius_px(count: np.ndarray) -> np.ndarray:
    """A disc grows with the log of its count: 2 and 2,000 both readable, neither a blot."""
    grow = np.log10(np.maximum(count, 1)) / 4.0  # 10,000 points: the largest disc
    return MIN_RADIUS_PX + (MAX_RADIUS_PX - MIN_RADIUS_PX) * np.clip(grow, 0.0, 1.0)


def _count_text(n: int) -> str:
    from ..strings import format_int

    return format_int(n) if n < 10_000 else f"{n // 1000}k"


class ClusterItem(QGraphicsObject):
    """Points as groups per screen cell (see the module docstring). `colours[rank]` fills a
    group whose most serious point has that rank; `symbols[rank]` draws a lone point."""

    def __init__(self, z: float) -> None:
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.colours: list[QColor] = []
        self.symbols: list[PointStyle] = []
        self._grid = _Grid(np.zeros(0), np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int32))
        self._pending: tuple[np.ndarray, ...] | None = None
        self._rect = QRectF()
        self._pixmaps: dict[tuple[int, float], QPixmap] = {}
        self._discs: dict[tuple[int, int, float], QPixmap] = {}
        self._cache: tuple[tuple, Groups] | None = None
        self.font = QFont()
        self.font.setBold(True)
        self.font.setPointSizeF(8.5)
        self.last_groups = NO_GROUPS  # what the last paint drew (tests, and a click on a group)

    def set_looks(self, colours: list[QColor], symbols: list[PointStyle]) -> None:
        self.colours, self.symbols = list(colours), list(symbols)
        self._pixmaps.clear()
        self._discs.clear()
        self.update()

    def set_points(self, x: np.ndarray, y: np.ndarray, rank: np.ndarray, lazy: bool = False) -> None:
        """The points and their ranks; `lazy`: sorted into the grid only when next drawn (an
        edit while zoomed in, where the groups are not shown, costs nothing)."""
        x, y = np.array(x, float), np.array(y, float)
        rank = np.array(rank, np.int32)
        self.prepareGeometryChange()
        self._pending = (x, y, rank) if lazy else None
        if not lazy:
            # The grid's "style" column carries the rank; a view's query is then one slice per row.
            self._grid = _Grid(x, y, rank, rank)
        self._cache = None
        if len(x):
            x0, y0, x1, y1 = float(x.min()), float(y.min()), float(x.max()), float(y.max())
            pad = max(x1 - x0, y1 - y0) * 0.05 + 50.0
            self._rect = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
        else:
            self._rect = QRectF()
        self.update()

    def _built(self) -> _Grid:
        if self._pending is not None:
            x, y, rank = self._pending
            self._grid, self._pending = _Grid(x, y, rank, rank), None
        return self._grid

    def __len__(self) -> int:
        return len(self._pending[0]) if self._pending is not None else self._grid.n

    def itemChange(self, change, value):  # noqa: N802 (Qt API)
        # Hidden, nothing is drawn: a click must not find the groups of the last paint.
        if change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged and not value:
            self.last_groups = NO_GROUPS
        return super().itemChange(change, value)

    def boundingRect(self) -> QRectF:
        return self._rect

    def groups_in(self, view: QRectF, units_per_px: float) -> Groups:
        """The groups a view of this rectangle (map units) at this scale shows."""
        key = (round(view.left(), 3), round(view.top(), 3), round(view.width(), 3), round(view.height(), 3),
               units_per_px)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        x, y, rank, _ = self._built().query(view)
        groups = group_points(x, y, rank, CELL_PX * units_per_px)
        self._cache = (key, groups)
        return groups

    def group_at(self, x: float, y: float, units_per_px: float) -> tuple[float, float, int] | None:
        """The group of two or more points drawn under map position (x, y), from the last paint:
        (its x, its y, its count), or None."""
        g = self.last_groups
        if not len(g):
            return None
        r = radius_px(g.count) * units_per_px
        hit = np.flatnonzero(~g.single & (np.hypot(g.x - x, g.y - y) <= r))
        if not len(hit):
            return None
        i = hit[np.argmax(g.count[hit])]
        return float(g.x[i]), float(g.y[i]), int(g.count[i])

    def _symbol(self, rank: int, dpr: float) -> QPixmap:
        if (rank, dpr) not in self._pixmaps:
            image = render_style(self.symbols[rank], dpr)
            self._pixmaps[(rank, dpr)] = QPixmap.fromImage(image)
        return self._pixmaps[(rank, dpr)]

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, _widget=None) -> None:
        self.last_groups = NO_GROUPS
        if len(self) == 0 or not self.colours:
            return
        seen = painted_view(painter, option, MAX_RADIUS_PX)
        if seen is None:
            return
        world, view, dpr, units_per_px = seen
        groups = self.groups_in(view, units_per_px)
        self.last_groups = groups
        if not len(groups):
            return
        px = world.m11() * groups.x + world.m21() * groups.y + world.dx()
        py = world.m12() * groups.x + world.m22() * groups.y + world.dy()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for i in np.flatnonzero(groups.single):  # lone points: their own symbol
            pixmap = self._symbol(int(groups.worst[i]), dpr)
            w, h = pixmap.width() / dpr, pixmap.height() / dpr
            painter.drawPixmap(QRectF(px[i] - w / 2, py[i] - h / 2, w, h), pixmap, QRectF(pixmap.rect()))
        many = np.flatnonzero(~groups.single)
        # Small groups first, so the biggest (and most serious, drawn last among equals) is on top.
        many = many[np.lexsort((groups.worst[many], groups.count[many]))]
        for i in many:
            pixmap = self._disc(int(groups.count[i]), int(groups.worst[i]), dpr)
            w, h = pixmap.width() / dpr, pixmap.height() / dpr
            painter.drawPixmap(QRectF(px[i] - w / 2, py[i] - h / 2, w, h), pixmap, QRectF(pixmap.rect()))
        painter.restore()

    def _disc(self, count: int, rank: int, dpr: float) -> QPixmap:
        """A group's disc with its count, drawn once and kept (text is the slow part of a paint)."""
        key = (count, rank, dpr)
        pixmap = self._discs.get(key)
        if pixmap is not None:
            return pixmap
        if len(self._discs) > 4000:
            self._discs.clear()
        r = float(radius_px(np.array([count]))[0])
        text = _count_text(count)
        metrics = QFontMetricsF(self.font)
        side = max(2 * r, metrics.horizontalAdvance(text)) + 4
        pixmap = QPixmap(int(np.ceil(side * dpr)), int(np.ceil(side * dpr)))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        centre = QPointF(side / 2, side / 2)
        p.setPen(QPen(QColor("#ffffff"), 2.0))
        p.setBrush(QBrush(self.colours[rank]))
        p.drawEllipse(centre, r, r)
        p.setFont(self.font)
        p.setPen(QColor("#ffffff"))
        p.drawText(QRectF(0, 0, side, side), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
        pixmap.setDevicePixelRatio(1.0)  # drawn into a rect in logical pixels by the caller
        self._discs[key] = pixmap
        return pixmap
