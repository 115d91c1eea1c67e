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

    def patched(self, gone: np.ndarray, kept_ids: int, x, y, style, priority) -> _Grid | None:
        """This grid without the points whose ids are in `gone` (sorted), with the new points
        inserted at their cells (ids from `kept_ids` on: after every point left, in order);
        the others' ids shift down past the removed ones. None when rebuilding is better."""
        if self.n == 0 or len(gone) + len(x) > max(2000, self.n // 20):
            return None
        out = object.__new__(_Grid)
        out.x0, out.y0, out.cell, out.gx, out.gy = self.x0, self.y0, self.cell, self.gx, self.gy
        keep = ~np.isin(self.ids, gone) if len(gone) else np.ones(self.n, bool)
        ids = self.ids[keep]
        ids -= np.searchsorted(gone, ids)
        cells = self.cells[keep]
        new_cells = self._cell_of(x, y)
        p0 = min(int(self.priority.min()), int(priority.min(initial=0)))
        span = max(int(self.priority.max()), int(priority.max(initial=0))) - p0 + 1
        key = cells * span + (self.priority[keep].astype(np.int64) - p0)
        at = np.searchsorted(key, new_cells * span + (priority.astype(np.int64) - p0), side="right")
        out.x, out.y = np.insert(self.x[keep], at, x), np.insert(self.y[keep], at, y)
        out.style = np.insert(self.style[keep], at, style)
        out.priority = np.insert(self.priority[keep], at, priority)
        out.ids = np.insert(ids, at, np.arange(kept_ids, kept_ids + len(x), dtype=np.int64))
        out.cells = np.insert(cells, at, new_cells)
        out.n = len(out.x)
        offsets = self.offsets.copy()
        for c in self.cells[~keep]:
            offsets[c + 1:] -= 1
        for c in new_cells:
            offsets[c + 1:] += 1
        out.offsets = offsets
        bx0, by0, bx1, by1 = self.box
        if len(x):
            bx0, by0 = min(bx0, float(x.min())), min(by0, float(y.min()))
            bx1, by1 = max(bx1, float(x.max())), max(by1, float(y.max()))
        out.box = (bx0, by0, bx1, by1)
        return out

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
        n = len(x)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        style = np.zeros(n, np.int32) if style is None else np.asarray(style, dtype=np.int32)
        priority = np.zeros(n, np.int32) if priority is None else np.asarray(priority, dtype=np.int32)
        self.prepareGeometryChange()
        self._raw = (x, y, style, priority)
        self._grid = _Grid(x, y, style, priority)
        self._bands.clear()
        if n:
            x0, y0, x1, y1 = float(x.min()), float(y.min()), float(x.max()), float(y.max())
            pad = max(x1 - x0, y1 - y0) * 0.05 + 50.0  # symbols are pixels wide beyond the data
            self._rect = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
        else:
            self._rect = QRectF()
        self.update()

    def patch(self, gone, x: np.ndarray, y: np.ndarray, style: np.ndarray | None = None,
              priority: np.ndarray | None = None) -> None:
        """Take out the points at positions `gone` (in set_points' order) and add these at the
        end, patching the grid and the thinned copies in place (an edit moves one site among
        120,000: no sort of them all). A thinned copy gains the new points unthinned, a few
        extra dots until the next set_points. Large patches rebuild instead."""
        n = len(x)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        style = np.zeros(n, np.int32) if style is None else np.asarray(style, dtype=np.int32)
        priority = np.zeros(n, np.int32) if priority is None else np.asarray(priority, dtype=np.int32)
        gone = np.unique(np.asarray(gone, dtype=np.int64))
        keep = np.ones(self._grid.n, bool)
        keep[gone] = False
        raw = tuple(np.concatenate([a[keep], b]) for a, b in zip(self._raw, (x, y, style, priority)))
        kept = int(keep.sum())
        grid = self._grid.patched(gone, kept, x, y, style, priority)
        if grid is None:
            self.set_points(*raw)
            return
        self.prepareGeometryChange()
        self._raw, self._grid = raw, grid
        self._bands = {level: band for level, band in
                       ((lv, b.patched(gone, kept, x, y, style, priority)) for lv, b in self._bands.items())
                       if band is not None}
        if n:
            pad = 50.0 + (self._rect.width() * 0.05 if not self._rect.isNull() else 0.0)
            added = QRectF(float(x.min()) - pad, float(y.min()) - pad, float(x.max() - x.min()) + 2 * pad,
                           float(y.max() - y.min()) + 2 * pad)
            self._rect = added if self._rect.isNull() else self._rect.united(added)
        self.update()

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
        if self.thin and self._grid.n > THIN_ABOVE:
            self._band(units_per_px)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, _widget=None) -> None:
        self.last_drawn = 0
        if self._grid.n == 0 or not self.styles:
            return
        world = painter.worldTransform()
        inverse, ok = world.inverted()
        if not ok:
            return
        device = painter.device()
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        margin = self._max_px
        if device is not None:
            screen = QRectF(-margin, -margin, device.width() / dpr + 2 * margin, device.height() / dpr + 2 * margin)
            view = inverse.mapRect(screen)
        else:
            view = option.exposedRect
        units_per_px = math.hypot(inverse.m11(), inverse.m12())
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
