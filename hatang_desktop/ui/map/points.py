"""Point layers as ONE graphics item that paints only what the view shows.

pyqtgraph's ScatterPlotItem maps and masks every point on every paint (~20 ms per 100k points,
~80 ms for 500k poles even when the view holds fifty of them) and keeps a record per point.
PointCloudItem instead:

* sorts the points once into a grid (row-major cells), so a paint reads one contiguous slice
  per grid row in view and tests only those points;
* draws every symbol with one ``drawPixmapFragments`` call from a small atlas of pre-rendered
  symbols (one per style: symbol, size, pen, brush), never one QPainter call per point;
* when a view would hold more than THIN_ABOVE points (a province or the country at once), it
  draws from a thinned copy for that zoom band: one point per ~2x2-pixel bin, the one that
  would be drawn on top. Bins are smaller than a symbol, so the picture is the same; the copy
  is made once per band (a power of two in metres per pixel) and kept.

Identify, selection and filters never look at this item: they work on the layer's data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyqtgraph.graphicsItems.ScatterPlotItem import renderSymbol
from pyqtgraph.Qt import internals
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem

THIN_ABOVE = 12_000  # a view with more candidate points than this draws from the thinned copy
THIN_BIN_PX = 2.0  # thinning bin, in screen pixels at the band's most zoomed-out end
MAX_BANDS = 12  # thinned copies kept


@dataclass(frozen=True)
class PointStyle:
    symbol: object  # a pyqtgraph symbol name ("o", "s", "t1", ...) or a QPainterPath
    size: float  # pixels
    pen: QPen
    brush: QBrush
    background: QBrush | None = None  # a disc under the symbol (a ring's inside), or none


def render_style(s: PointStyle, dpr: float = 1.0) -> QImage:
    """The symbol's image, over its background disc when it has one."""
    image = renderSymbol(s.symbol, s.size, s.pen, s.brush, dpr=dpr)
    if s.background is None:
        return image
    under = renderSymbol("o", s.size * 0.9, QPen(Qt.PenStyle.NoPen), s.background, dpr=dpr)
    out = QImage(image.size(), QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(0)
    painter = QPainter(out)
    painter.drawImage((image.width() - under.width()) // 2, (image.height() - under.height()) // 2, under)
    painter.drawImage(0, 0, image)
    painter.end()
    out.setDevicePixelRatio(image.devicePixelRatio())
    return out


class _Grid:
    """Points sorted by (grid cell, priority); a rectangle query returns the points inside,
    in drawing order within each cell. `ids` is each point's index in the item's points, so an
    edit can take some out and put new ones in without sorting everything again (`patched`)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, style: np.ndarray, priority: np.ndarray,
                 ids: np.ndarray | None = None) -> None:
        n = len(x)
        self.n = n
        ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
        if n == 0:
            self.x = self.y = np.zeros(0)
            self.style = self.priority = np.zeros(0, np.int32)
            self.ids = self.cells = np.zeros(0, np.int64)
            self.offsets = np.zeros(2, np.int64)
            self.x0 = self.y0 = 0.0
            self.cell = 1.0
            self.gx = self.gy = 1
            self.box = (0.0, 0.0, 0.0, 0.0)
            return
        self.x0, self.y0 = float(x.min()), float(y.min())
        span = max(float(x.max()) - self.x0, float(y.max()) - self.y0, 1e-6)
        g = int(np.clip(math.sqrt(n / 8), 1, 512))  # ~8 points per cell on average
        self.cell = span / g * (1 + 1e-9)
        self.gx = int((float(x.max()) - self.x0) // self.cell) + 1
        self.gy = int((float(y.max()) - self.y0) // self.cell) + 1
        cx = ((x - self.x0) // self.cell).astype(np.int64)
        cy = ((y - self.y0) // self.cell).astype(np.int64)
        cell = cy * self.gx + cx
        # One int64 key (cell, then priority): a single argsort is ~3x faster than lexsort.
        p0 = int(priority.min())
        order = np.argsort(cell * (int(priority.max()) - p0 + 1) + (priority - p0), kind="stable")
        self.x, self.y = x[order], y[order]
        self.style, self.priority = style[order], priority[order]
        self.ids, self.cells = ids[order], cell[order]
        self.offsets = np.searchsorted(self.cells, np.arange(self.gx * self.gy + 1))
        self.box = (self.x0, self.y0, float(x.max()), float(y.max()))

    def _cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # Points beyond the grid (added by an edit) go to its edge cells; queries clamp the same way.
        cx = np.clip((x - self.x0) // self.cell, 0, self.gx - 1).astype(np.int64)
        cy = np.clip((y - self.y0) // self.cell, 0, self.gy - 1).astype(np.int64)
        return cy * self.gx + cx

    def patched(self, out: np.ndarray, gone: np.ndarray, x, y, style, priority, ids) -> _Grid | None:
        """This grid without the points whose ids are in `out` (sorted: the removed and the
        replaced), the others' ids shifted down past `gone` (sorted: the removed), with the new
        points inserted at their cells with their `ids`. None when rebuilding is better."""
        if self.n == 0 or len(out) + len(x) > max(2000, self.n // 20):
            return None
        grid = object.__new__(_Grid)
        grid.x0, grid.y0, grid.cell, grid.gx, grid.gy = self.x0, self.y0, self.cell, self.gx, self.gy
        keep = ~np.isin(self.ids, out) if len(out) else np.ones(self.n, bool)
        kept_ids = self.ids[keep]
        kept_ids -= np.searchsorted(gone, kept_ids)
        cells = self.cells[keep]
        new_cells = self._cell_of(x, y)
        p0 = min(int(self.priority.min()), int(priority.min(initial=0)))
        span = max(int(self.priority.max()), int(priority.max(initial=0))) - p0 + 1
        key = cells * span + (self.priority[keep].astype(np.int64) - p0)
        at = np.searchsorted(key, new_cells * span + (priority.astype(np.int64) - p0), side="right")
        grid.x, grid.y = np.insert(self.x[keep], at, x), np.insert(self.y[keep], at, y)
        grid.style = np.insert(self.style[keep], at, style)
        grid.priority = np.insert(self.priority[keep], at, priority)
        grid.ids = np.insert(kept_ids, at, ids)
        grid.cells = np.insert(cells, at, new_cells)
        grid.n = len(grid.x)
        offsets = self.offsets.copy()
        for c in self.cells[~keep]:
            offsets[c + 1:] -= 1
        for c in new_cells:
            offsets[c + 1:] += 1
        grid.offsets = offsets
        bx0, by0, bx1, by1 = self.box
        if len(x):
            bx0, by0 = min(bx0, float(x.min())), min(by0, float(y.min()))
            bx1, by1 = max(bx1, float(x.max())), max(by1, float(y.max()))
        grid.box = (bx0, by0, bx1, by1)
        return grid

    def replaced(self, ids: np.ndarray, x, y, style, priority) -> _Grid | None:
        """The points `ids` given new values where they are in the order of points, each moved
        to its new cell by shifting only the points between its old and new place (a drag
        moves one pole among 500,000: no copy of them all). A point not in this grid (thinned
        out of a copy) is inserted. Returns the grid (this one, changed), or None to rebuild."""
        grid = self
        for k, point_id in enumerate(np.asarray(ids, np.int64)):
            found = np.flatnonzero(grid.ids == point_id) if grid.n else np.zeros(0, np.int64)
            if not len(found):
                grid = grid.patched(np.zeros(0, np.int64), np.zeros(0, np.int64), x[k:k + 1], y[k:k + 1],
                                    style[k:k + 1], priority[k:k + 1], np.array([point_id]))
                if grid is None:
                    return None
                continue
            grid._move(int(found[0]), float(x[k]), float(y[k]), int(style[k]), int(priority[k]))
        return grid

    def _move(self, p: int, x: float, y: float, style: int, priority: int) -> None:
        old_cell = int(self.cells[p])
        new_cell = int(self._cell_of(np.array([x]), np.array([y]))[0])
        offsets = self.offsets
        offsets[old_cell + 1:] -= 1
        start, end = int(offsets[new_cell]), int(offsets[new_cell + 1])
        # The new cell's priorities with p taken out (indices before the removal).
        before = np.arange(start, end)
        before[before >= p] += 1
        q = start + int(np.searchsorted(self.priority[before], priority, side="right"))
        point_id = self.ids[p]
        for a, v in ((self.x, x), (self.y, y), (self.style, style), (self.priority, priority),
                     (self.ids, point_id), (self.cells, new_cell)):
            if q >= p:
                a[p:q] = a[p + 1:q + 1].copy()
            else:
                a[q + 1:p + 1] = a[q:p].copy()
            a[q] = v
        offsets[new_cell + 1:] += 1
        bx0, by0, bx1, by1 = self.box
        self.box = (min(bx0, x), min(by0, y), max(bx1, x), max(by1, y))

    def _rows(self, rect: QRectF) -> list[tuple[int, int]]:
        if self.n == 0:
            return []
        bx0, by0, bx1, by1 = self.box
        if rect.right() < bx0 or rect.left() > bx1 or rect.bottom() < by0 or rect.top() > by1:
            return []
        last_x, last_y = self.gx - 1, self.gy - 1
        cx0 = min(max(int((rect.left() - self.x0) // self.cell), 0), last_x)
        cx1 = min(max(int((rect.right() - self.x0) // self.cell), 0), last_x)
        cy0 = min(max(int((rect.top() - self.y0) // self.cell), 0), last_y)
        cy1 = min(max(int((rect.bottom() - self.y0) // self.cell), 0), last_y)
        starts = self.offsets[np.arange(cy0, cy1 + 1) * self.gx + cx0]
        ends = self.offsets[np.arange(cy0, cy1 + 1) * self.gx + cx1 + 1]
        return [(int(a), int(b)) for a, b in zip(starts, ends) if b > a]

    def count(self, rect: QRectF) -> int:
        """Points in the grid cells the rectangle touches (an upper bound, and cheap)."""
        return sum(b - a for a, b in self._rows(rect))

    def query(self, rect: QRectF) -> tuple[np.ndarray, ...]:
        rows = self._rows(rect)
        if not rows:
            empty = np.zeros(0)
            return empty, empty, np.zeros(0, np.int32), np.zeros(0, np.int32)
        sl = [slice(a, b) for a, b in rows]
        x = np.concatenate([self.x[s] for s in sl])
        y = np.concatenate([self.y[s] for s in sl])
        inside = (x >= rect.left()) & (x <= rect.right()) & (y >= rect.top()) & (y <= rect.bottom())
        style = np.concatenate([self.style[s] for s in sl])[inside]
        priority = np.concatenate([self.priority[s] for s in sl])[inside]
        return x[inside], y[inside], style, priority


def _thin(x, y, style, priority, bin_m: float) -> np.ndarray:
    """The indices of one point per bin_m x bin_m square: the one drawn last (highest priority,
    then latest)."""
    order = np.argsort(priority, kind="stable")[::-1]  # last drawn first, so unique keeps it
    bx = np.floor(x[order] / bin_m).astype(np.int64)
    by = np.floor(y[order] / bin_m).astype(np.int64)
    keys = (bx - bx.min()) * (int(by.max() - by.min()) + 1) + (by - by.min())
    _, first = np.unique(keys, return_index=True)
    return np.sort(order[first])  # back to data order, so ties keep their drawing order


def painted_view(painter: QPainter, option: QStyleOptionGraphicsItem, margin_px: float):
    """What a paint shows, for items that draw in screen pixels over map units: (the world
    transform, the device's rectangle in map units grown by `margin_px`, the device pixel
    ratio, map units per pixel); None when the transform cannot be inverted. exposedRect alone
    would be the whole item when the scene is rendered to an image."""
    world = painter.worldTransform()
    inverse, ok = world.inverted()
    if not ok:
        return None
    device = painter.device()
    dpr = device.devicePixelRatioF() if device is not None else 1.0
    if device is not None:
        view = inverse.mapRect(QRectF(-margin_px, -margin_px, device.width() / dpr + 2 * margin_px,
                                      device.height() / dpr + 2 * margin_px))
    else:
        view = option.exposedRect
    return world, view, dpr, math.hypot(inverse.m11(), inverse.m12())


@dataclass
class PreparedPoints:
    """What PointCloudItem.set_points makes of its points: copies, the sorted grid, bounds."""

    raw: tuple[np.ndarray, ...]
    grid: _Grid
    rect: QRectF


def prepare_points(x, y, style=None, priority=None) -> PreparedPoints:
    """The grid of PointCloudItem.set_points (one sort of all points: ~100 ms for the country's
    504k poles), plain numpy: safe on a worker thread, handed to set_prepared on the GUI's."""
    n = len(x)
    # Copies: patch() writes into them, and they must not be the caller's (a layer's) arrays.
    x = np.array(x, dtype=float)
    y = np.array(y, dtype=float)
    style = np.zeros(n, np.int32) if style is None else np.array(style, dtype=np.int32)
    priority = np.zeros(n, np.int32) if priority is None else np.array(priority, dtype=np.int32)
    if n:
        x0, y0, x1, y1 = float(x.min()), float(y.min()), float(x.max()), float(y.max())
        pad = max(x1 - x0, y1 - y0) * 0.05 + 50.0  # symbols are pixels wide beyond the data
        rect = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
    else:
        rect = QRectF()
    return PreparedPoints((x, y, style, priority), _Grid(x, y, style, priority), rect)


class PointCloudItem(QGraphicsObject):
    """Many point symbols as one item: see the module docstring."""

    def __init__(self, z: float, thin: bool = True) -> None:
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.thin = thin
        self.styles: list[PointStyle] = []
        self._atlas: dict[float, tuple[QPixmap, np.ndarray]] = {}  # dpr -> atlas, source rects
        self._max_px = 0.0
        self._fragments = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._raw: tuple[np.ndarray, ...] = (np.zeros(0), np.zeros(0), np.zeros(0, np.int32),
                                             np.zeros(0, np.int32))
        self._grid = _Grid(*self._raw)
        self._bands: dict[int, _Grid] = {}
        self._rect = QRectF()
        self.last_drawn = 0  # points drawn by the last paint (for tests and benchmarks)
        # Beyond this many units per pixel an aggregate (ui/map/aggregate.DensityItem) draws
        # these points and this item skips its paint.
        self.aggregated_above = math.inf

    # -- data ------------------------------------------------------------------------------

    def set_styles(self, styles: list[PointStyle]) -> None:
        """The symbols the points refer to by index; cheap (a few pixmaps), points untouched."""
        self.styles = list(styles)
        self._atlas.clear()
        self._max_px = max((s.size + max(s.pen.widthF(), 1.0) for s in self.styles), default=0.0)
        self.update()

    def set_points(self, x: np.ndarray, y: np.ndarray, style: np.ndarray | None = None,
                   priority: np.ndarray | None = None) -> None:
        """Points in map units; `style` indexes set_styles' list (default 0); a higher
        `priority` draws on top (default: data order)."""
        self.set_prepared(prepare_points(x, y, style, priority))

    def set_prepared(self, prepared: PreparedPoints) -> None:
        """set_points with its sorting done already (prepare_points, e.g. on a worker thread)."""
        self.prepareGeometryChange()
        self._raw, self._grid, self._rect = prepared.raw, prepared.grid, prepared.rect
        self._bands.clear()
        self.update()

    def patch(self, gone, x: np.ndarray, y: np.ndarray, style: np.ndarray | None = None,
              priority: np.ndarray | None = None, replaced=None) -> None:
        """Take out the points at positions `gone` (in set_points' order), give the points at
        positions `replaced[0]` the values `replaced[1:]` (x, y, style, priority) where they
        are, and add `x, y...` at the end; the grid and the thinned copies are patched in
        place (an edit moves one site among 120,000: no sort of them all). A thinned copy gains
        the new points unthinned, a few extra dots until the next set_points. Large patches
        rebuild instead."""
        new = self._arrays(x, y, style, priority)
        at, *values = replaced if replaced is not None else (np.zeros(0, np.int64), *self._arrays([], []))
        at = np.asarray(at, np.int64)
        values = self._arrays(*values)
        gone = np.unique(np.asarray(gone, dtype=np.int64))
        if not len(gone) and not len(new[0]) and len(at) <= 50:
            self._replace(at, values)
            return
        keep = np.ones(self._grid.n, bool)
        keep[gone] = False
        kept = int(keep.sum())
        moved_to = at - np.searchsorted(gone, at)  # a replaced point's position once `gone` are out
        raw = []
        for old, put, add in zip(self._raw, values, new):
            column = np.concatenate([old[keep], add])
            column[moved_to] = put
            raw.append(column)
        out = np.union1d(gone, at)
        points = [np.concatenate([v, a]) for v, a in zip(values, new)]
        ids = np.concatenate([moved_to, np.arange(kept, kept + len(new[0]), dtype=np.int64)])
        grid = self._grid.patched(out, gone, *points, ids)
        if grid is None:
            self.set_points(*raw)
            return
        self.prepareGeometryChange()
        self._raw, self._grid = tuple(raw), grid
        self._bands = {level: band for level, band in
                       ((lv, b.patched(out, gone, *points, ids)) for lv, b in self._bands.items())
                       if band is not None}
        self._grow(points[0], points[1])
        self.update()

    def _replace(self, at: np.ndarray, values: tuple[np.ndarray, ...]) -> None:
        """patch() when points only change where they are (a move, a new look)."""
        grid = self._grid.replaced(at, *values)
        if grid is None:
            raw = tuple(a.copy() for a in self._raw)
            for a, v in zip(raw, values):
                a[at] = v
            self.set_points(*raw)
            return
        self.prepareGeometryChange()
        for a, v in zip(self._raw, values):
            a[at] = v
        self._grid = grid
        self._bands = {level: band for level, band in
                       ((lv, b.replaced(at, *values)) for lv, b in self._bands.items()) if band is not None}
        self._grow(values[0], values[1])
        self.update()

    def _grow(self, x: np.ndarray, y: np.ndarray) -> None:
        """The bounding rect, grown to hold points placed by an edit."""
        if len(x):
            pad = 50.0 + (self._rect.width() * 0.05 if not self._rect.isNull() else 0.0)
            added = QRectF(float(x.min()) - pad, float(y.min()) - pad, float(x.max() - x.min()) + 2 * pad,
                           float(y.max() - y.min()) + 2 * pad)
            self._rect = added if self._rect.isNull() else self._rect.united(added)

    @staticmethod
    def _arrays(x, y, style=None, priority=None) -> tuple[np.ndarray, ...]:
        n = len(x)
        return (np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                np.zeros(n, np.int32) if style is None else np.asarray(style, dtype=np.int32),
                np.zeros(n, np.int32) if priority is None else np.asarray(priority, dtype=np.int32))

    def __len__(self) -> int:
        return self._grid.n

    def is_empty(self) -> bool:
        return self._grid.n == 0

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """x, y of every point held (not only those drawn)."""
        return self._raw[0], self._raw[1]

    # -- painting --------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return self._rect

    def _atlas_for(self, dpr: float) -> tuple[QPixmap, np.ndarray]:
        if dpr not in self._atlas:
            images = [render_style(s, dpr) for s in self.styles]
            width = sum(i.width() for i in images) + len(images)
            height = max((i.height() for i in images), default=1)
            atlas = QImage(max(width, 1), max(height, 1), QImage.Format.Format_ARGB32_Premultiplied)
            atlas.fill(0)
            rects = np.zeros((max(len(images), 1), 4))
            painter = QPainter(atlas)
            left = 0
            for i, image in enumerate(images):
                image.setDevicePixelRatio(1.0)
                painter.drawImage(left, 0, image)
                rects[i] = (left, 0, image.width(), image.height())
                left += image.width() + 1
            painter.end()
            self._atlas[dpr] = (QPixmap.fromImage(atlas), rects)
        return self._atlas[dpr]

    def _band(self, units_per_px: float) -> _Grid:
        level = math.ceil(math.log2(max(units_per_px * THIN_BIN_PX, 1e-9)))
        grid = self._bands.get(level)
        if grid is None:
            if len(self._bands) >= MAX_BANDS:
                self._bands.pop(next(iter(self._bands)))
            keep = _thin(*self._raw, 2.0 ** level)
            grid = _Grid(*(a[keep] for a in self._raw), ids=keep)
            self._bands[level] = grid
        return grid

    def prepare_view(self, units_per_px: float, dpr: float = 1.0) -> None:
        """Do now what the first paint at this scale would: the symbol atlas and, for a dense
        layer, the thinned copy (the canvas calls this before showing a freshly loaded map)."""
        if self.styles:
            self._atlas_for(dpr)
        if units_per_px >= self.aggregated_above:
            return  # an aggregate draws these points at this scale: no thinned copy needed
        if self.thin and self._grid.n > THIN_ABOVE:
            self._band(units_per_px)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, _widget=None) -> None:
        self.last_drawn = 0
        if self._grid.n == 0 or not self.styles:
            return
        seen = painted_view(painter, option, self._max_px)
        if seen is None:
            return
        world, view, dpr, units_per_px = seen
        if units_per_px >= self.aggregated_above:
            return
        grid = self._grid
        if self.thin and grid.count(view) > THIN_ABOVE:
            grid = self._band(units_per_px)
        x, y, style, priority = grid.query(view)
        n = len(x)
        if n == 0:
            return
        if priority.min() != priority.max():
            order = np.argsort(priority, kind="stable")
            x, y, style = x[order], y[order], style[order]
        px = world.m11() * x + world.m21() * y + world.dx()
        py = world.m12() * x + world.m22() * y + world.dy()
        pixmap, rects = self._atlas_for(dpr)
        self._fragments.resize(n)
        frags = self._fragments.ndarray()
        frags[:, 0] = px
        frags[:, 1] = py
        frags[:, 2:6] = rects[style]
        frags[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
        painter.save()
        painter.resetTransform()
        painter.drawPixmapFragments(*self._fragments.drawargs(), pixmap)
        painter.restore()
        self.last_drawn = n
