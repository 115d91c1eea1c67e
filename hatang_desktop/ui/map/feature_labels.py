"""Site codes, pole numbers and route codes as ONE graphics item, only at large scales.

Labels are placed per view in screen space, greedily in priority order (sites, then routes,
then poles), against an occupancy grid of CELL-pixel cells: a label goes where none of its
cells is taken, so no two labels (nor a label and a labelled symbol) overlap. The placement
is kept until the view or the data changes, so a repaint without a pan (a hover, a dock
resize elsewhere) costs only the drawing. Zoomed out beyond each layer's LABEL_MAX_MPP the
item costs nothing: the scales that draw thousands of features draw no labels.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import shapely
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsObject

from .labels import screen_size

log = logging.getLogger(__name__)

CELL = 3  # occupancy grid cell, pixels
PAD_X, PAD_Y = 2.0, 0.0  # the plate around a code
MAX_CANDIDATES = 1500  # per layer and view: beyond this the layer is too dense to label anyway
WORLD = QRectF(-2.1e7, -2.1e7, 4.2e7, 4.2e7)  # Web Mercator: the item may draw anywhere


@dataclass(frozen=True)
class Placed:
    """A label drawn in the last paint: its layer, text, centre and angle (degrees), plate size
    and upright bounding box on screen (pixels); no other label's plate overlaps its plate."""

    key: str
    text: str
    cx: float
    cy: float
    angle: float
    width: float
    height: float
    box: QRectF

    def corners(self) -> list[tuple[float, float]]:
        """The plate's four corners on screen, turned with the label."""
        a = math.radians(self.angle)
        c, s = math.cos(a), math.sin(a)
        return [(self.cx + u * c - v * s, self.cy + u * s + v * c)
                for u, v in ((-self.width / 2, -self.height / 2), (self.width / 2, -self.height / 2),
                             (self.width / 2, self.height / 2), (-self.width / 2, self.height / 2))]


class Occupancy:
    """Which CELL-pixel cells of the screen are taken."""

    def __init__(self, w: float, h: float) -> None:
        self.grid = np.zeros((int(h // CELL) + 1, int(w // CELL) + 1), bool)
        self.w, self.h = w, h

    def _span(self, x0: float, y0: float, x1: float, y1: float):
        return (slice(int(y0 // CELL), int(y1 // CELL) + 1), slice(int(x0 // CELL), int(x1 // CELL) + 1))

    def take(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """Take the box's cells if it lies wholly on screen and none is taken; whether it did."""
        if x0 < 0 or y0 < 0 or x1 >= self.w or y1 >= self.h:
            return False
        cells = self._span(x0, y0, x1, y1)
        if self.grid[cells].any():
            return False
        self.grid[cells] = True
        return True

    _sample_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def _samples(cls, w: float, h: float) -> tuple[np.ndarray, np.ndarray]:
        """Points every half cell over a w x h plate about its centre (kept per size)."""
        key = (round(w), round(h))
        found = cls._sample_cache.get(key)
        if found is None:
            u, v = np.meshgrid(np.linspace(-w / 2, w / 2, int(w // (CELL / 2)) + 2),
                               np.linspace(-h / 2, h / 2, int(h // (CELL / 2)) + 2))
            found = cls._sample_cache[key] = (u.ravel(), v.ravel())
        return found

    def take_turned(self, cx: float, cy: float, w: float, h: float, angle: float) -> bool:
        """take() for a label turned `angle` degrees about its centre: the cells under the
        turned plate itself (its upright bounding box would claim up to 5x the room)."""
        a = math.radians(angle)
        u, v = self._samples(w, h)
        x = cx + u * math.cos(a) - v * math.sin(a)
        y = cy + u * math.sin(a) + v * math.cos(a)
        if x.min() < 0 or y.min() < 0 or x.max() >= self.w or y.max() >= self.h:
            return False
        gx, gy = (x // CELL).astype(np.int64).ravel(), (y // CELL).astype(np.int64).ravel()
        if self.grid[gy, gx].any():
            return False
        self.grid[gy, gx] = True
        return True

    def block_rect(self, rect: QRectF) -> None:
        """Mark a box on screen (the scale bar, the north arrow) as taken."""
        x0, y0 = max(rect.left(), 0.0), max(rect.top(), 0.0)
        x1, y1 = min(rect.right(), self.w - 1), min(rect.bottom(), self.h - 1)
        if x0 < x1 and y0 < y1:
            self.grid[self._span(x0, y0, x1, y1)] = True

    def block(self, px: np.ndarray, py: np.ndarray, radius: float) -> None:
        """Mark symbols (centres in pixels) as taken, so no label covers a labelled feature."""
        inside = (px >= 0) & (py >= 0) & (px < self.w) & (py < self.h)
        if not inside.any():
            return
        r = int(math.ceil(radius / CELL))
        gx, gy = (px[inside] // CELL).astype(np.int64), (py[inside] // CELL).astype(np.int64)
        step = np.arange(-r, r + 1)
        rows, cols = self.grid.shape
        ys = np.clip(gy[:, None, None] + step[None, :, None], 0, rows - 1)
        xs = np.clip(gx[:, None, None] + step[None, None, :], 0, cols - 1)
        self.grid[np.broadcast_to(ys, (len(gx), len(step), len(step))),
                  np.broadcast_to(xs, (len(gx), len(step), len(step)))] = True


def clip_segments(ax, ay, bx, by, x0: float, y0: float, x1: float, y1: float):
    """Segments a-b cut to the box (Liang-Barsky, vectorised): the new ends, and which
    segments keep a piece inside."""
    dx, dy = bx - ax, by - ay
    t0, t1 = np.zeros(len(ax)), np.ones(len(ax))
    keep = np.ones(len(ax), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
            keep &= ~((p == 0) & (q < 0))  # parallel to this edge and outside it
            r = q / p
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
    keep &= t0 < t1
    return ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy, keep


class FeatureLabelItem(QGraphicsObject):
    """Draws the labels of the layers it is given (those with a `label_field`), each while the
    layer is drawn, its labels are on and the view is closer than its LABEL_MAX_MPP."""

    def __init__(self, layers, z: float = 25) -> None:
        super().__init__()
        # Placed in this order: a site's code before the route's, a route's before its poles'.
        self.layers = sorted((layer for layer in layers if layer.label_field), key=lambda layer: layer.LABEL_PRIORITY)
        self.setZValue(z)
        self.font = QFont()
        self.font.setPointSizeF(7.5)
        self._metrics = QFontMetricsF(self.font)
        self._widths: dict[str, float] = {}
        self._plate = QBrush(QColor(255, 255, 255, 215))
        self._text_pen = QPen(QColor("#202020"))
        self._cache_key = None
        self._runs = None  # (route data, first vertex, vertex count per feature)
        self.placed: list[Placed] = []  # what the last paint drew
        self.obstacles = lambda: []  # boxes on screen no label may cover (set by the canvas)

    def boundingRect(self) -> QRectF:
        return WORLD

    def forget(self) -> None:
        """Place again at the next paint: the layers' data changed (an edit may patch a layer's
        arrays in place, which the per-view key cannot see)."""
        self._cache_key, self._runs = None, None
        self.update()

    def max_mpp(self) -> float:
        return max((layer.LABEL_MAX_MPP for layer in self.layers), default=0.0)

    def _width(self, text: str) -> float:
        w = self._widths.get(text)
        if w is None:
            if len(self._widths) > 50_000:  # a day's panning over the country's poles
                self._widths.clear()
            w = self._widths[text] = self._metrics.horizontalAdvance(text) + 2 * PAD_X
        return w

    # -- placement -------------------------------------------------------------------------

    def _place(self, world, mpp: float, w: float, h: float) -> list[Placed]:
        inverse, _ = world.inverted()
        view = inverse.mapRect(QRectF(0, 0, w, h))
        board = Occupancy(w, h)
        for rect in self.obstacles():
            board.block_rect(rect)
        active = [layer for layer in self.layers
                  if layer.data is not None and layer.labels_visible and layer.is_drawn()
                  and mpp <= layer.LABEL_MAX_MPP]
        out: list[Placed] = []
        for layer in active:
            if layer.label_kind == "point":
                # Its symbols taken before its codes: no code hides a site, and no pole number
                # a pole. A route's code, placed before the poles, may cover a pole's dot on it.
                idx = self._points_in_view(layer, view)
                px, py = self._to_screen(world, layer.data.x[idx], layer.data.y[idx])
                board.block(px, py, layer.LABEL_SYMBOL_PX / 2)
                self._place_points(layer, idx, px, py, board, out)
            else:
                self._place_lines(layer, world, view, mpp, board, out)
        return out

    @staticmethod
    def _to_screen(world, x: np.ndarray, y: np.ndarray):
        return (world.m11() * x + world.m21() * y + world.dx(),
                world.m12() * x + world.m22() * y + world.dy())

    @staticmethod
    def _points_in_view(layer, view: QRectF) -> np.ndarray:
        d = layer.data
        inside = (layer.shown & (d.x >= view.left()) & (d.x <= view.right())
                  & (d.y >= view.top()) & (d.y <= view.bottom()))
        idx = np.flatnonzero(inside)
        # Nearest the middle first: what the user zoomed in on gets its code before its neighbours.
        far = np.hypot(d.x[idx] - view.center().x(), d.y[idx] - view.center().y())
        return idx[np.argsort(far, kind="stable")[:MAX_CANDIDATES]]

    def _place_points(self, layer, idx: np.ndarray, px: np.ndarray, py: np.ndarray, board: Occupancy,
                      out: list[Placed]) -> None:
        texts = layer.data.attrs[layer.label_field][idx]
        h = self._metrics.height() + 2 * PAD_Y
        gap = layer.LABEL_SYMBOL_PX / 2 + 2
        for text, x, y in zip(texts, px, py):
            if not text:
                continue
            tw = self._width(text)
            # Right of the symbol, then left, above, below: the usual order of map labels.
            for cx, cy in ((x + gap + tw / 2, y), (x - gap - tw / 2, y),
                           (x, y - gap - h / 2), (x, y + gap + h / 2)):
                x0, y0 = cx - tw / 2, cy - h / 2
                if board.take(x0, y0, x0 + tw, y0 + h):
                    out.append(Placed(layer.key, str(text), cx, cy, 0.0, tw, h, QRectF(x0, y0, tw, h)))
                    break

    def _place_lines(self, layer, world, view, mpp: float, board: Occupancy, out: list[Placed]) -> None:
        """One label per route in view, on its longest segment on screen, turned along it and
        kept upright."""
        d = layer.data
        bounds = d.feature_bounds()
        hit = layer.shown & ((bounds[:, 0] <= view.right()) & (bounds[:, 2] >= view.left())
                             & (bounds[:, 1] <= view.bottom()) & (bounds[:, 3] >= view.top()))
        if not hit.any():
            return
        vertex = self._vertices_of(d, np.flatnonzero(hit))
        # Parts simplified by a third of a label's height first: a route digitised every few
        # metres is a chain of segments each shorter than its code, though it runs nearly
        # straight for 200 px, and a line that strays that little still lies under the plate.
        ends = d.connect[vertex] == 0
        part = np.r_[0, np.cumsum(ends[:-1] | (np.diff(vertex) != 1))]
        lone = np.bincount(part)[part] < 2  # a one-vertex part is no line (shapely refuses it)
        if lone.any():
            vertex, part = vertex[~lone], np.unique(part[~lone], return_inverse=True)[1].reshape(-1)
        if not len(vertex):
            return
        lines = shapely.linestrings(d.x[vertex], d.y[vertex], indices=part)
        simple = shapely.simplify(lines, self._metrics.height() / 3 * mpp)
        coords, line_of = shapely.get_coordinates(simple, return_index=True)
        if len(coords) < 2:
            return
        part_feature = d.vertex_feature[vertex[np.r_[0, np.flatnonzero(np.diff(part)) + 1]]]
        seg = np.flatnonzero(np.diff(line_of) == 0)  # a vertex and the next, in one part
        ax, ay = self._to_screen(world, coords[seg, 0], coords[seg, 1])
        bx, by = self._to_screen(world, coords[seg + 1, 0], coords[seg + 1, 1])
        feature = part_feature[line_of[seg]]
        h = self._metrics.height() + 2 * PAD_Y
        # Each segment cut to the screen (less a plate's height all round), so a route crossing
        # the view is labelled on what of it shows, not at a midpoint off screen.
        ax, ay, bx, by, on_screen = clip_segments(ax, ay, bx, by, h, h, board.w - h, board.h - h)
        mx, my = (ax + bx) / 2, (ay + by) / 2
        length = np.hypot(bx - ax, by - ay)
        feature, ax, ay, bx, by, mx, my, length = (a[on_screen] for a in (feature, ax, ay, bx, by, mx, my, length))
        if not len(feature):
            return
        texts = d.attrs[layer.label_field]
        done: set[int] = set()
        tries: dict[int, int] = {}
        # Longest stretches first, over all routes; a route tries its three longest, and one
        # label is enough for a route.
        for s in np.argsort(-length, kind="stable")[:MAX_CANDIDATES * 3]:
            f = int(feature[s])
            if f in done or tries.get(f, 0) >= 3:
                continue
            tries[f] = tries.get(f, 0) + 1
            text = texts[f]
            tw = self._width(text) if text else 0.0
            if not text or tw > 1.2 * length[s]:
                continue  # a code much longer than its stretch would hang off the line's bends
            angle = math.degrees(math.atan2(by[s] - ay[s], bx[s] - ax[s]))
            if angle > 90:
                angle -= 180
            elif angle <= -90:
                angle += 180
            c, sn = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
            bw, bh = tw * c + h * sn, tw * sn + h * c
            # The middle of the stretch first, then slid along it while it still fits.
            ux, uy = (bx[s] - ax[s]) / length[s], (by[s] - ay[s]) / length[s]
            room = max(length[s] - tw, 0.0) / 2
            for shift in (0.0, -room / 2, room / 2, -room, room):
                cx, cy = float(mx[s] + shift * ux), float(my[s] + shift * uy)
                if board.take_turned(cx, cy, tw, h, angle):
                    out.append(Placed(layer.key, str(text), cx, cy, angle, tw, h,
                                      QRectF(cx - bw / 2, cy - bh / 2, bw, bh)))
                    done.add(f)
                    break

    def _vertices_of(self, d, features: np.ndarray) -> np.ndarray:
        """The vertex indices of `features`, in order, without a pass over every vertex (the
        country's routes have ~930k): each feature's run is found once per data set."""
        if self._runs is None or self._runs[0] is not d:
            starts = np.flatnonzero(np.r_[True, np.diff(d.vertex_feature) != 0])
            first = np.zeros(len(d), np.int64)
            count = np.zeros(len(d), np.int64)
            lengths = np.diff(np.r_[starts, len(d.vertex_feature)])
            first[d.vertex_feature[starts]] = starts
            count[d.vertex_feature[starts]] = lengths
            # A feature in two runs apart (not made by core.map_data) takes the slow, sure way.
            split = len(np.unique(d.vertex_feature[starts])) != len(starts)
            self._runs = (d, None if split else first, count)
        _, first, count = self._runs
        if first is None:
            return np.flatnonzero(np.isin(d.vertex_feature, features))
        n = count[features]
        if not n.sum():
            return np.zeros(0, np.int64)
        offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        return np.repeat(first[features], n) + offsets

    # -- painting ----------------------------------------------------------------------------

    def paint(self, painter: QPainter, option, _widget=None) -> None:
        # An exception escaping a paint override kills the process under PySide 6.11 (shiboken
        # crashes reporting it): a labelling bug must cost the labels, not the user's session.
        try:
            self._paint(painter, option)
        except Exception:
            self.placed, self._cache_key = [], None
            log.exception("map labels not drawn")

    def _paint(self, painter: QPainter, option) -> None:
        world = painter.worldTransform()
        inverse, ok = world.inverted()
        if not ok:
            return
        mpp = math.hypot(inverse.m11(), inverse.m12())
        if mpp > self.max_mpp():
            self.placed, self._cache_key = [], None
            return
        w, h = screen_size(painter, world, option)
        key = (round(world.m11(), 9), round(world.m22(), 9), round(world.dx(), 2), round(world.dy(), 2), w, h,
               tuple((id(layer.data), id(layer.shown), layer.labels_visible, layer.is_drawn())
                     for layer in self.layers))
        if key != self._cache_key:
            self.placed = self._place(world, mpp, w, h)
            self._cache_key = key
        if not self.placed:
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(self.font)
        ascent = self._metrics.ascent()
        for p in self.placed:
            painter.save()
            painter.translate(p.cx, p.cy)
            if p.angle:
                painter.rotate(p.angle)
            painter.setPen(QColor(0, 0, 0, 0))
            painter.setBrush(self._plate)
            painter.drawRoundedRect(QRectF(-p.width / 2, -p.height / 2, p.width, p.height), 2, 2)
            painter.setPen(self._text_pen)
            painter.drawText(QPointF(-p.width / 2 + PAD_X, -p.height / 2 + PAD_Y + ascent), p.text)
            painter.restore()
        painter.restore()
