"""The country at once: layers drawn from pre-aggregated images beyond AGGREGATE_MPP.

With the whole country on screen, stroking every route and commune outline (even simplified:
~80 paths, ~80k vertices) and stamping one symbol per site made a frame cost 30-40 ms and grow
with the data. Beyond AGGREGATE_MPP metres per pixel the heavy layers draw one image each:

* DensityItem: sites counted per grid cell (core.map_aggregate), one block of one to two
  screen pixels per cell, light to dark with the count (one operator's colour when the filter
  shows one);
* LinesImageItem: a layer's lines (the routes, the commune outlines) rendered once into an
  image at the scale band's resolution on a worker thread, then drawn as that image.

Images are made once per scale band (a power of two in metres per pixel, like the lines'
levels of detail) and kept until the data, the filter or the visibility changes; the canvas
makes the first view's while the map loads (prepare_view, one item per event-loop turn). Below
the threshold the items paint nothing and the layers' own items draw every feature as before.
Identify, selection and edits never look at these images: they work on the layers' data.
"""

from __future__ import annotations

import functools
import math
import time
import weakref

import numpy as np
from PySide6.QtCore import QObject, QRectF, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QBrush, QColor, QGradient, QImage, QLinearGradient, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem

from hatang_desktop.core.map_aggregate import Density, density

from .points import painted_view

# Views of more metres per pixel than this (a region of several provinces or the whole country,
# which fills a laptop screen at ~1,200-2,800; a province fills it at ~150) draw the aggregates.
AGGREGATE_MPP = 512.0
MIN_LEVEL, MAX_LEVEL = 10, 14  # scale bands: level L serves views up to 2**L metres per pixel
KEEP_LEVELS = 3  # images kept per item
# The site density's ramp, few sites to many (RGB).
DENSITY_LIGHT, DENSITY_DARK = (107, 174, 214), (8, 48, 107)


def density_brush() -> QBrush:
    """The density's ramp, few sites (left) to many (right), for the legend's swatch."""
    ramp = QLinearGradient(0.0, 0.5, 1.0, 0.5)
    ramp.setCoordinateMode(QGradient.CoordinateMode.ObjectBoundingMode)  # any swatch size
    ramp.setColorAt(0.0, QColor(*DENSITY_LIGHT))
    ramp.setColorAt(1.0, QColor(*DENSITY_DARK))
    return QBrush(ramp)


def aggregate_level(units_per_px: float) -> int | None:
    """The scale band of a view, None below AGGREGATE_MPP (the layers draw their features)."""
    if not units_per_px >= AGGREGATE_MPP:
        return None
    return int(min(max(math.ceil(math.log2(units_per_px)), MIN_LEVEL), MAX_LEVEL))


def _device_units_per_px(painter: QPainter) -> float | None:
    inverse, ok = painter.worldTransform().inverted()
    return math.hypot(inverse.m11(), inverse.m12()) if ok else None


def is_aggregated(painter: QPainter) -> bool:
    """Whether this paint is at a scale the aggregates draw (the detailed items then skip)."""
    upp = _device_units_per_px(painter)
    return upp is not None and upp >= AGGREGATE_MPP


class _ImageItem(QGraphicsObject):
    """An item drawing one cached image per scale band over a rectangle in map units."""

    def __init__(self, z: float) -> None:
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self._images: dict[int, tuple[QImage, QRectF]] = {}
        self._rect = QRectF()
        self.builds = 0  # images made (for tests and benchmarks)

    def boundingRect(self) -> QRectF:
        return self._rect

    def invalidate(self) -> None:
        self._images.clear()
        self.update()

    def image(self, level: int) -> tuple[QImage, QRectF] | None:
        """The band's image and the map rectangle it covers (made now when missing)."""
        if level not in self._images:
            made = self._make(level)
            if made is None:
                return None
            self._keep(level, made)
        return self._images[level]

    def _keep(self, level: int, made: tuple[QImage, QRectF]) -> None:
        """A band's image kept, the oldest dropped beyond KEEP_LEVELS."""
        if len(self._images) >= KEEP_LEVELS:
            self._images.pop(next(iter(self._images)))
        self._images[level] = made
        self.builds += 1

    def _stand_in(self, level: int) -> tuple[QImage, QRectF] | None:
        """While a band's image is being made on a worker: the next band's (the same features at
        half or twice the resolution), drawn scaled over the same ground until the band's own
        arrives and replaces it, as QGIS shows its last render scaled while it renders the new
        view. None when neither is there."""
        for other in (level - 1, level + 1):
            if other in self._images:
                return self._images[other]
        return None

    def _make(self, level: int) -> tuple[QImage, QRectF] | None:
        raise NotImplementedError

    def prepare_view(self, units_per_px: float, dpr: float = 1.0) -> None:
        level = aggregate_level(units_per_px)
        if level is not None:
            self.image(level)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, _widget=None) -> None:
        seen = painted_view(painter, option, 0.0)
        if seen is None:
            return
        world, _view, _dpr, units_per_px = seen
        level = aggregate_level(units_per_px)
        if level is None:
            return
        made = self.image(level)
        if made is None:
            return
        image, rect = made
        # In device pixels: the map's y axis points up, the image's rows go down.
        target = world.mapRect(rect)
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        painter.drawImage(target, image)
        painter.restore()

    smooth = True


class DensityItem(_ImageItem):
    """Points as a density: one block per grid cell of the band (2**level metres, one to two
    screen pixels), darker and more opaque with more points."""

    smooth = False  # crisp blocks, like the dots they replace

    def __init__(self, z: float) -> None:
        super().__init__(z)
        self._points = (np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
        self._colours = np.zeros((1, 3), np.uint8)
        self._generation = 0
        self._pending: set[tuple[int, int]] = set()

    def set_points(self, x: np.ndarray, y: np.ndarray, group: np.ndarray, colours: list[QColor]) -> None:
        """The points to count (map metres), each one's group, and each group's colour."""
        self.prepareGeometryChange()
        self._points = (np.asarray(x, float), np.asarray(y, float), np.asarray(group, np.int64))
        self._colours = np.array([(c.red(), c.green(), c.blue()) for c in colours] or [(0, 0, 0)], np.uint8)
        if len(x):
            x0, y0, x1, y1 = float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))
            pad = 2.0 ** (MAX_LEVEL + 1)  # a whole cell of the coarsest band
            self._rect = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
        else:
            self._rect = QRectF()
        self.invalidate()

    def density(self, level: int) -> Density:
        x, y, group = self._points
        return density(x, y, 2.0 ** level, group, len(self._colours))

    def invalidate(self) -> None:
        self._generation += 1   # the jobs still running colour the points that were
        super().invalidate()

    def image(self, level: int) -> tuple[QImage, QRectF] | None:
        """The band's image; when it is missing but the next band's is there, that one stands
        in (drawn scaled) while a worker colours the band's own: at the country's scale a band
        took ~120 ms of the GUI thread, in the frame that zoomed to it. With nothing to stand
        in (the first view) it is made now."""
        if level in self._images:
            return self._images[level]
        stand_in = self._stand_in(level)
        if stand_in is None:
            return super().image(level)
        generation = self._generation
        if (generation, level) not in self._pending:
            self._pending.add((generation, level))
            relay = _the_relay()
            relay.items[id(self)] = self
            QThreadPool.globalInstance().start(_DensityJob(
                id(self), generation, level, functools.partial(_density_image, self._points, self._colours, level)))
        return stand_in

    def _rendered(self, generation: int, level: int, image: QImage | None, rect: QRectF | None) -> None:
        self._pending.discard((generation, level))
        if image is None or generation != self._generation:
            return   # no points, or new points came meanwhile
        self._keep(level, (image, rect))
        self.update()

    def _make(self, level: int) -> tuple[QImage, QRectF] | None:
        return _density_image(self._points, self._colours, level)


class _DensityJob(QRunnable):
    """A band's density image coloured off the GUI thread (numpy and a QImage: safe in any thread)."""

    def __init__(self, item_id: int, generation: int, level: int, make) -> None:
        super().__init__()
        self.item_id, self.generation, self.level, self.make = item_id, generation, level, make
        self.relay = _the_relay()  # made here, on the GUI thread

    def run(self) -> None:
        made = self.make()
        image, rect = made if made is not None else (None, None)
        self.relay.done.emit(self.item_id, self.generation, self.level, image, rect)


def _density_image(points: tuple, colours: np.ndarray, level: int) -> tuple[QImage, QRectF] | None:
    """The density image of band `level` for `points` (x, y, group) and the groups' colours."""
    x, y, group = points
    d = density(x, y, 2.0 ** level)  # all groups together: the colour does not need them
    rows, cols = d.counts.shape[:2]
    if not rows:
        return None
    # Only the cells holding a point are coloured: at the country's scale most of the grid
    # is sea and neighbouring land (the colouring of every cell took ~250 ms of the GUI
    # thread for the 690k cells of a 2 km band).
    n = d.per_cell()[::-1].ravel()   # row 0 of the image is the north
    filled = np.flatnonzero(n)
    count = n[filled]
    # A sequential ramp on the count (log scale up to the busiest 2% of cells): a country
    # where every district has sites still shows where they crowd. One operator shown (a
    # filter): its colour; several: the density colours, as a legend of operators per
    # pixel would only be speckle.
    top = max(float(np.percentile(count, 98)) if len(count) else 1.0, 2.0)
    t = np.clip(np.log(np.maximum(count, 1)) / math.log(top), 0.0, 1.0)
    used = np.flatnonzero(np.bincount(group, minlength=1)) if len(group) else np.zeros(0, np.int64)
    if len(used) == 1:
        light = dark = colours[min(int(used[0]), len(colours) - 1)].astype(float)
    else:
        light, dark = np.array(DENSITY_LIGHT, float), np.array(DENSITY_DARK, float)
    colour = light + (dark - light) * t[:, None]
    alpha = 0.5 + 0.45 * t
    # Premultiplied ARGB32 in memory order B, G, R, A (little-endian).
    bgra = np.zeros((rows * cols, 4), np.uint8)
    for k, channel in enumerate((2, 1, 0)):
        bgra[filled, k] = (colour[:, channel] * alpha).astype(np.uint8)
    bgra[filled, 3] = (alpha * 255).astype(np.uint8)
    image = QImage(bgra.data, cols, rows, cols * 4, QImage.Format.Format_ARGB32_Premultiplied).copy()
    return image, QRectF(d.x0, d.y0, cols * d.cell, rows * d.cell)


class _Relay(QObject):
    """One object for the life of the app, living on the GUI thread, that carries finished
    images back to their items: a job never emits from an object that an item (and the scene
    it belongs to) could take with it when a window closes while the job runs."""

    done = Signal(object, object, int, object, object)  # item id, state key, level, QImage, QRectF

    def __init__(self) -> None:
        super().__init__()
        self.items: weakref.WeakValueDictionary[int, LinesImageItem] = weakref.WeakValueDictionary()
        self.done.connect(self._deliver)

    def _deliver(self, item_id: int, key, level: int, image: QImage, rect: QRectF) -> None:
        item = self.items.get(item_id)
        if item is None:
            return
        try:
            item._rendered(key, level, image, rect)
        except RuntimeError:  # its scene was deleted meanwhile
            pass


_relay: _Relay | None = None


def _the_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
    return _relay


# Vertices stroked per drawPath on a worker: PySide holds the GIL through a QPainter call, and a
# coarse tile's path (a quarter of the country, tens of thousands of vertices) stroked at once
# froze the GUI thread for 100-500 ms while the map opened; 4096-vertex pieces still gave
# 60-80 ms gaps on a busy machine (the stroking thread descheduled while holding the GIL).
# Each numpy call of the GUI thread meanwhile waits for the piece in hand: with 1024 vertices the
# country's density coloured beside a render took 130-150 ms (48-57 ms with 256, 23 ms alone),
# and the opening is no slower (usable map 1.8-2.4 s either way, alternating).
PIECE_VERTICES = 256


def pieces(path: QPainterPath) -> list[QPainterPath]:
    """`path` (lines only, as pyqtgraph builds them) as paths of about PIECE_VERTICES vertices,
    whole subpaths each."""
    if path.elementCount() <= PIECE_VERTICES:
        return [path]
    out, piece, n = [], QPainterPath(), 0
    for polygon in path.toSubpathPolygons():
        if n and n + polygon.size() > PIECE_VERTICES:
            out.append(piece)
            piece, n = QPainterPath(), 0
        piece.addPolygon(polygon)
        n += polygon.size()
    if n:
        out.append(piece)
    return out


class _RenderJob(QRunnable):
    """Stroke paths into an image off the GUI thread (QImage and QPainter are safe in any
    thread; the paths are the tiles', which nobody writes once made)."""

    def __init__(self, item_id: int, key, level: int, strokes: list, rect: QRectF, res: float) -> None:
        super().__init__()
        self.item_id, self.key, self.level, self.strokes, self.rect, self.res = item_id, key, level, strokes, rect, res
        self.relay = _the_relay()  # made here, on the GUI thread

    def run(self) -> None:
        rect, res = self.rect, self.res
        cols, rows = max(int(math.ceil(rect.width() / res)), 1), max(int(math.ceil(rect.height() / res)), 1)
        image = QImage(cols, rows, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # Map metres to image pixels, north up.
        painter.setTransform(QTransform(1 / res, 0, 0, -1 / res, -rect.left() / res, rect.bottom() / res))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen, tiles in self.strokes:
            painter.setPen(pen)
            for i, path in enumerate(tiles.paths):
                for piece in tiles.pieces(i, PIECE_VERTICES) or pieces(path):
                    painter.drawPath(piece)
                    # PySide keeps the GIL through drawPath: without a pause here the GUI
                    # thread got it back only every switch interval (5 ms) plus a piece, and a
                    # frame's few dozen numpy calls took 200-400 ms instead of ~20 (seen while
                    # the country's density was coloured beside this job).
                    time.sleep(0)
        painter.end()
        self.strokes = []
        self.relay.done.emit(self.item_id, self.key, self.level, image,
                             QRectF(rect.left(), rect.top(), cols * res, rows * res))


class LinesImageItem(_ImageItem):
    """Lines of some TiledPathItems rendered into one image per band (0.75 * 2**level metres
    per image pixel: drawn at 0.75x to 1.5x, lines keep about their width).

    Stroking the country's lines antialiased takes up to a second on a busy machine, so an
    image is rendered on a worker thread; until it is there (just loaded, just edited) the
    sources draw themselves as before. A source skips its own paint when `covers` says the
    image for that scale is ready (TiledPathItem.aggregate)."""

    RESOLUTION = 0.75

    def __init__(self, sources: list, z: float) -> None:
        super().__init__(z)
        self.sources = sources
        for s in sources:
            s.aggregate = self
        self._key = None
        self._pending: set[tuple] = set()

    def _state(self) -> tuple:
        return tuple((s._generation, s.isVisible()) for s in self.sources)

    def sources_changed(self) -> None:
        """The sources' lines changed (new data, an edit, a filter): bounds and images follow."""
        self.prepareGeometryChange()
        self._rect = self._union()
        self.invalidate()

    def _union(self) -> QRectF:
        rect = QRectF()
        for s in self.sources:
            if not s.is_empty():
                rect = rect.united(s.boundingRect())
        return rect

    def _current(self) -> tuple:
        key = self._state()
        if self._key != key:  # new data, a filter, a layer switched: the images are old
            self._key = key
            self._images.clear()
        return key

    def covers(self, units_per_px: float) -> bool:
        """Whether this item draws the sources at this scale (its image is ready); asks for
        the image when it is missing."""
        level = aggregate_level(units_per_px)
        if level is None or not self.isVisible():
            return False
        return self.image(level) is not None

    def awaited(self, units_per_px: float) -> bool:
        """Whether the image for this scale is being rendered now (a worker's job on its way)."""
        level = aggregate_level(units_per_px)
        return level is not None and (self._state(), level) in self._pending

    def ready(self, units_per_px: float) -> bool:
        level = aggregate_level(units_per_px)
        return level is not None and self._key == self._state() and level in self._images

    def image(self, level: int):
        key = self._current()
        if level in self._images:
            return self._images[level]
        if (key, level) not in self._pending:
            self._start(key, level)
        # The next band stands in: without it the sources stroked every line on the GUI thread
        # for that frame (340-430 ms for the country's routes when "Toàn bộ" came back to full
        # extent at a new band).
        return self._stand_in(level)

    def _start(self, key, level: int) -> None:
        shown = [s for s in self.sources if s.isVisible() and not s.is_empty()]
        if not shown or self._rect.isEmpty():
            return
        self._pending.add((key, level))
        res = self.RESOLUTION * 2.0 ** level
        # Tiles are never changed once made (new data makes new ones), and Qt shares their
        # paths' data between threads for reading: the job takes them as they are.
        strokes = [(QPen(s.pen), s.tiles_at(2.0 ** level)) for s in shown]
        rect = self._rect.adjusted(-2 * res, -2 * res, 2 * res, 2 * res)
        relay = _the_relay()
        relay.items[id(self)] = self
        QThreadPool.globalInstance().start(_RenderJob(id(self), key, level, strokes, rect, res))

    def _rendered(self, key, level: int, image: QImage, rect: QRectF) -> None:
        self._pending.discard((key, level))
        if key != self._state():
            return  # the lines changed meanwhile: a newer job is on its way
        self._keep(level, (image, rect))
        self.update()
        for s in self.sources:
            s.update()
