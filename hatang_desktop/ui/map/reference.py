"""Reference layers on the map: GIS files drawn under the survey layers, above the basemap.

Each layer is a few items, like a survey layer: its lines in a TiledPathItem (grid cells,
simplified per zoom: the routes' drawing), its polygons in a TiledAreaItem (the same, whole
rings filled), its points in a PointCloudItem (thinned per zoom), a GeoTIFF as one image and
an MBTiles file as a BasemapItem. They sit between the land fill (z -30) and the commune
boundaries (z -20), the top layer of the panel highest. Labels of all reference layers are
placed by one FeatureLabelItem of their own, under the survey layers' symbols.

Every paint here catches and logs what it raises: under PySide6 6.11 an exception escaping a
paint() override ends the process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QRectF, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsObject
from shiboken6 import isValid

from hatang_desktop.core.reflayers import Opened, RefLayer

from .. import turns
from . import style
from .basemap import BasemapItem
from .feature_labels import FeatureLabelItem
from .layers.base import LegendEntry, TiledPathItem
from .points import PointCloudItem, PointStyle

log = logging.getLogger(__name__)

Z_TOP, Z_STEP = -21.0, 0.05  # the panel's first reference layer; each next one a step lower
LABEL_Z = -20.5
LABEL_MAX_MPP = 8.0  # labels of a reference layer from a village's scale in


class ReferencePathItem(TiledPathItem):
    """TiledPathItem (grid cells, simplified per zoom) that also keeps, zoomed out, the whole
    layer drawn once into an image for its level of detail: a province's 100k road segments are
    still ~200k vertices after simplification (each short road keeps its two ends), ~300 ms to
    stroke, where the survey routes at that scale are a few thousand. The image is made on a
    later event-loop turn; until then (and when it would be too big: a national file zoomed in
    only a little) the vectors are drawn. A paint that raises logs and draws nothing."""

    CACHE_MIN_LEVEL = 6  # from 64 m per pixel: a district or more on screen
    CACHE_MAX_SIDE = 4096
    VIEW_IMAGE_ABOVE = 3000  # path elements in view from which a view's image is kept
    WAIT_FOR_IMAGE_ABOVE = 50_000  # path elements in view from which the screen waits for the image

    def __init__(self, pen: QPen, z: float, brush: QBrush | None = None) -> None:
        super().__init__(pen, z)
        self.brush = brush if brush is not None else QBrush(Qt.BrushStyle.NoBrush)
        self._image: tuple | None = None  # (key, QImage or None, its rect in map units)
        self._image_pending = False
        self._job = None
        self._view_image: tuple | None = None  # (key, QImage, its rect in map units)
        self._view_pending = False
        self._view_job = None

    def set_style(self, pen: QPen, brush: QBrush | None = None) -> None:
        self.pen = pen
        if brush is not None:
            self.brush = brush
        self.update()  # the image is keyed on the style: a new one is made if it changed

    def paint(self, painter, option, widget=None) -> None:
        try:
            self._paint(painter, option, on_screen=widget is not None)
        except Exception:
            log.exception("reference layer not drawn")

    def _paint(self, painter, option, on_screen: bool = False) -> None:
        exposed, units_per_px = self.painted_view(painter, option)
        if self._paint_image(painter, units_per_px):
            return
        paths = self._tiles_for(units_per_px).in_view(exposed)
        if on_screen and self._image_pending and sum(p.elementCount() for p in paths) > self.WAIT_FOR_IMAGE_ABOVE:
            # A province's roads zoomed out: stroking them here froze the window ~2 s; the image
            # is being drawn on a worker and repaints when ready. An export (no widget) still strokes.
            return
        if self._paint_view_image(painter, exposed, units_per_px, paths):
            return
        painter.setPen(self.pen)
        painter.setBrush(self.brush)
        for path in paths:
            painter.drawPath(path)

    def _paint_view_image(self, painter, exposed: QRectF, units_per_px: float, paths) -> bool:
        """Closer in, a dense layer (thousands of vertices in view: 15-20 ms of antialiased
        strokes a frame) is drawn from an image of the view and its surroundings, made on a
        worker at this exact scale: a pan within them is a blit. A zoom, or a pan beyond, draws
        the vectors until the next image arrives."""
        if units_per_px <= 0 or sum(p.elementCount() for p in paths) < self.VIEW_IMAGE_ABOVE:
            return False
        key = ("view", round(units_per_px, 9)) + self._key(0)[1:]
        found = self._view_image
        if found is not None and found[0] == key and found[2].contains(exposed):
            _key, image, rect = found
            painter.save()
            painter.translate(rect.left(), rect.bottom())
            painter.scale(units_per_px, -units_per_px)
            painter.drawImage(0, 0, image)
            painter.restore()
            return True
        if not self._view_pending:
            w, h = exposed.width(), exposed.height()
            rect = exposed.adjusted(-w / 2, -h / 2, w / 2, h / 2)
            cols, rows = int(rect.width() / units_per_px) + 1, int(rect.height() / units_per_px) + 1
            if max(cols, rows) > self.CACHE_MAX_SIDE * 2:
                return False
            self._view_pending = True
            job = _ImageJob(self._tiles_for(units_per_px).in_view(rect), QPen(self.pen), QBrush(self.brush), rect,
                            units_per_px, cols, rows, antialias=True)
            exact = QRectF(rect.left(), rect.bottom() - rows * units_per_px, cols * units_per_px,
                           rows * units_per_px)
            job.signals.done.connect(lambda image, key=key, exact=exact: self._view_ready(key, image, exact))
            self._view_job = job
            QThreadPool.globalInstance().start(job)
        return False

    def _view_ready(self, key, image, rect) -> None:
        if not isValid(self):
            return
        self._view_pending = False
        self._view_job = None
        self._view_image = (key, image, rect) if image is not None and not image.isNull() else None
        self.update()

    def _key(self, level: int) -> tuple:
        return (level, self._generation, self.pen.color().rgba(), self.pen.widthF(), self.brush.style(),
                self.brush.color().rgba())

    def _paint_image(self, painter, units_per_px: float) -> bool:
        from hatang_desktop.core.map_data import lod_level

        level = lod_level(units_per_px) if self._source is not None else None
        if level is None or level < self.CACHE_MIN_LEVEL:
            return False
        key = self._key(level)
        if self._image is None or self._image[0] != key:
            if not self._image_pending:
                self._image_pending = True
                turns.later(lambda: self._build_image(level), self)
            return False
        _key, image, rect = self._image
        if image is None:
            return False
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.translate(rect.left(), rect.bottom())
        painter.scale(rect.width() / image.width(), -rect.height() / image.height())
        painter.drawImage(0, 0, image)
        painter.restore()
        return True

    def _build_image(self, level: int) -> None:
        """Start drawing the level's image on a worker thread (strokes of ~200k vertices take a
        second or more on a busy machine: never on the GUI thread); the vectors are drawn until
        it arrives."""
        key = self._key(level)
        # At the finer end of the level's range: shown at most 2x smaller, never enlarged.
        res = 2.0 ** (level - 1)
        rect = self._rect.adjusted(-2 * res, -2 * res, 2 * res, 2 * res)
        w, h = int(rect.width() / res) + 1, int(rect.height() / res) + 1
        if max(w, h) > self.CACHE_MAX_SIDE or self._source is None:
            self._image_pending = False
            self._image = (key, None, rect)
            return
        if level not in self._levels:
            self._build_level(level, self._generation)
        paths = list(self._levels[level].paths)
        pen, brush = QPen(self.pen), QBrush(self.brush)
        job = _ImageJob(paths, pen, brush, rect, res, w, h)
        job.signals.done.connect(lambda image, key=key, rect=QRectF(rect.left(), rect.bottom() - h * res, w * res,
                                                                     h * res): self._image_ready(key, image, rect))
        self._job = job  # kept until done: its signals object must outlive the worker
        QThreadPool.globalInstance().start(job)

    def _image_ready(self, key, image, rect) -> None:
        if not isValid(self):  # the layer was removed while its image was being drawn
            return
        self._image_pending = False
        self._job = None
        self._view_image: tuple | None = None  # (key, QImage, its rect in map units)
        self._view_pending = False
        self._view_job = None
        if image is None or image.isNull():
            self._image = (key, None, rect)
        elif key[1] == self._generation:
            self._image = (key, image, rect)
        self.update()


class _ImageSignals(QObject):
    done = Signal(object)  # the QImage, or None when drawing it failed


class _ImageJob(QRunnable):
    """Draws paths into an image off the GUI thread (QPainter on a QImage may run on any thread;
    the paths are implicitly shared copies, only read)."""

    def __init__(self, paths, pen, brush, rect, res, w, h, antialias: bool = False) -> None:
        super().__init__()
        self.signals = _ImageSignals()
        self.paths, self.pen, self.brush, self.rect, self.res, self.w, self.h = paths, pen, brush, rect, res, w, h
        self.antialias = antialias

    def run(self) -> None:
        try:
            image = QImage(self.w, self.h, QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(0)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, self.antialias)
            # A level's image is not antialiased: 10x faster (1-2 s against 12 s for 100k roads on
            # a loaded machine), and it is shown smoothed, up to 2x smaller, softening the steps.
            painter.scale(1 / self.res, -1 / self.res)
            painter.translate(-self.rect.left(), -self.rect.bottom())
            painter.setPen(self.pen)
            painter.setBrush(self.brush)
            for path in self.paths:
                painter.drawPath(path)
            painter.end()
        except Exception:
            log.exception("reference layer image not made")
            image = None
        self.signals.done.emit(image)


class TiledAreaItem(ReferencePathItem):
    """ReferencePathItem for polygons: rings are never cut into runs (a cut ring cannot be
    filled), each cell's path filled with the non-zero rule (holes stay holes: core rings are
    oriented), outlined with the pen."""

    CHUNK = 1 << 40

    @classmethod
    def _make_tiles(cls, x, y, connect, min_cell: float = 0.0):
        tiles = super()._make_tiles(x, y, connect, min_cell)
        for path in tiles.paths:
            path.setFillRule(Qt.FillRule.WindingFill)
        return tiles


class SafePointItem(PointCloudItem):
    def paint(self, painter, option, widget=None) -> None:
        try:
            super().paint(painter, option, widget)
        except Exception:
            log.exception("reference points not drawn")


class SafeTilesItem(BasemapItem):
    def paint(self, painter, *args) -> None:
        try:
            super().paint(painter, *args)
        except Exception:
            log.exception("reference tiles not drawn")


class RasterItem(QGraphicsObject):
    """A GeoTIFF already warped to Web Mercator, drawn as one image over its bounds."""

    def __init__(self, rgba: np.ndarray, bounds, z: float) -> None:
        super().__init__()
        rows, cols = rgba.shape[:2]
        self._bytes = np.ascontiguousarray(rgba)  # QImage shares this buffer: keep it alive
        self.image = QImage(self._bytes.data, cols, rows, cols * 4, QImage.Format.Format_RGBA8888)
        x0, y0, x1, y1 = bounds
        self._rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        self.setZValue(z)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, *_args) -> None:
        try:
            r = self._rect
            painter.save()
            # Item y points north; image rows run south from the top: flip while drawing.
            painter.translate(r.left(), r.bottom())
            painter.scale(r.width() / self.image.width(), -r.height() / self.image.height())
            painter.drawImage(0, 0, self.image)
            painter.restore()
        except Exception:
            log.exception("reference image not drawn")


@dataclass
class LabelSource:
    """What FeatureLabelItem reads of a layer, for one part (points, lines, polygon insides)."""

    key: str
    data: object
    label_kind: str
    label_field: str = "label"
    labels_visible: bool = True
    visible: bool = True
    LABEL_MAX_MPP: float = LABEL_MAX_MPP
    LABEL_SYMBOL_PX: float = 0.0
    LABEL_PRIORITY: int = 10
    shown: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def is_drawn(self) -> bool:
        return self.visible


class DrawnReference:
    """The items of one reference layer, styled from its entry."""

    def __init__(self, opened: Opened) -> None:
        self.opened = opened
        self.entry: RefLayer = opened.entry
        self.items: list = []
        self.labels: list[LabelSource] = []
        self.lines = self.areas = self.points = None
        v = opened.vector
        if v is not None:
            if v.polygons is not None:
                self.areas = TiledAreaItem(QPen(), 0, QBrush())
                self.areas.set_layer(v.polygons)
                self.items.append(self.areas)
            if v.lines is not None:
                self.lines = ReferencePathItem(QPen(), 0)
                self.lines.set_layer(v.lines)
                self.items.append(self.lines)
            if v.points is not None:
                self.points = SafePointItem(0)
                self.points.set_points(v.points.x, v.points.y)
                self.items.append(self.points)
        elif opened.raster is not None:
            self.items.append(RasterItem(opened.raster.rgba, opened.raster.bounds, 0))
        elif opened.tiles is not None:
            tiles = SafeTilesItem()
            tiles.set_source(opened.tiles)
            self.items.append(tiles)
        self.restyle(self.entry)

    @property
    def tiles(self) -> BasemapItem | None:
        return next((i for i in self.items if isinstance(i, BasemapItem)), None)

    def restyle(self, entry: RefLayer) -> None:
        """Pens, brushes, labels and visibility from `entry`; the tiles are kept."""
        label_changed = entry.label != self.entry.label or not self.labels
        self.entry = entry
        pen = style.pen(entry.colour, entry.width)
        fill = QColor(entry.colour)
        fill.setAlphaF(entry.opacity if entry.fill else 0.0)
        if self.areas is not None:
            self.areas.set_style(pen, QBrush(fill) if entry.fill else QBrush(Qt.BrushStyle.NoBrush))
        if self.lines is not None:
            self.lines.set_style(pen)
        if self.points is not None:
            brush = QBrush(fill if entry.fill else QColor(entry.colour))
            self.points.set_styles([PointStyle("o", 4 + 2 * entry.width, style.pen("#ffffff", 1.0), brush)])
        if self.opened.raster is not None or self.opened.tiles is not None:
            for item in self.items:
                item.setOpacity(entry.opacity)
        if label_changed:
            self._make_labels()
        for item in self.items:
            item.setVisible(entry.visible)
        for source in self.labels:
            source.visible = entry.visible and bool(entry.label)

    def _make_labels(self) -> None:
        self.labels = []
        v = self.opened.vector
        if v is None or not self.entry.label:
            return
        texts = v.label_texts(self.entry.label)
        for kind, part, symbol in (("point", v.points, 4 + 2 * self.entry.width), ("line", v.lines, 0.0),
                                   ("point", v.polygon_points, 0.0)):
            if part is None:
                continue
            part.attrs["label"] = texts[part.attrs["feature"]]
            self.labels.append(LabelSource(f"ref:{self.entry.name}", part, kind, LABEL_SYMBOL_PX=symbol,
                                           shown=np.ones(len(part), bool)))

    def set_z(self, z: float) -> None:
        for k, item in enumerate(self.items):
            item.setZValue(z + k * 0.001)  # fill under lines under points

    def legend(self) -> LegendEntry:
        pen = style.pen(self.entry.colour, min(self.entry.width + 1, 4))
        if self.opened.vector is not None and self.opened.vector.polygons is not None:
            fill = QColor(self.entry.colour)
            fill.setAlphaF(self.entry.opacity if self.entry.fill else 0.0)
            return LegendEntry(self.entry.name, "fill", pen, QBrush(fill))
        v = self.opened.vector
        if v is not None and v.lines is None and v.points is not None:
            return LegendEntry(self.entry.name, "symbol", style.pen("#ffffff", 1), QBrush(QColor(self.entry.colour)))
        if self.opened.vector is None:
            return LegendEntry(self.entry.name, "fill", QPen(QColor("#888888")), QBrush(QColor("#cfd8dc")))
        return LegendEntry(self.entry.name, "line", pen)


class ReferenceMap(QObject):
    """The reference layers drawn on a MapCanvas, through its overlay API."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.drawn: dict[str, DrawnReference] = {}
        self.order: list[str] = []  # top first
        self.label_item = FeatureLabelItem([], z=LABEL_Z)
        self.label_item.obstacles = canvas._overlay_boxes
        canvas.add_overlay("reference_labels", self.label_item, LABEL_Z)
        self._tiles_timer = QTimer(self)
        self._tiles_timer.setSingleShot(True)
        self._tiles_timer.setInterval(40)
        self._tiles_timer.timeout.connect(self._refresh_tiles)
        canvas.view.sigRangeChanged.connect(lambda *_: self._tiles_timer.start() if self._has_tiles() else None)

    def _has_tiles(self) -> bool:
        return any(d.tiles is not None for d in self.drawn.values())

    def clear(self) -> None:
        for name in list(self.drawn):
            self.remove(name)

    def show(self, opened_list: list[Opened]) -> dict[str, str]:
        """Draw these layers (top first) instead of any drawn before; {name: why} of those that
        could not be (a bug met by odd data: that layer stays off, the others are drawn)."""
        self.clear()
        failed = {}
        for opened in opened_list:
            try:
                self.drawn[opened.entry.name] = DrawnReference(opened)
            except Exception as exc:
                log.exception("reference layer %s not drawn", opened.entry.name)
                failed[opened.entry.name] = f"{opened.entry.path}: {exc}"
                continue
            self.order.append(opened.entry.name)
        for name in self.order:
            for k, item in enumerate(self.drawn[name].items):
                self.canvas.add_overlay(f"reference:{name}:{k}", item)
        self._restack()
        self._refresh_tiles()
        return failed

    def add(self, opened: Opened) -> None:
        """Draw one more layer, at the top of the reference layers."""
        drawn = DrawnReference(opened)
        self.drawn[opened.entry.name] = drawn
        self.order.insert(0, opened.entry.name)
        mpp, dpr = self.canvas.metres_per_pixel(), self.canvas.devicePixelRatioF()
        for k, item in enumerate(drawn.items):
            self.canvas.add_overlay(f"reference:{opened.entry.name}:{k}", item)
            # The view's level of detail now (its simplification is done when the file was read
            # on a worker): the first paint would otherwise stroke every vertex of a province.
            if hasattr(item, "prepare_view") and mpp > 0:
                item.prepare_view(mpp, dpr)
        self._restack()
        self._refresh_tiles()

    def remove(self, name: str) -> None:
        drawn = self.drawn.pop(name, None)
        if name in self.order:
            self.order.remove(name)
        if drawn is None:
            return
        for k, _item in enumerate(drawn.items):
            self.canvas.remove_overlay(f"reference:{name}:{k}")
        if drawn.opened.tiles is not None:
            drawn.opened.tiles.close()
        self._restack()

    def restyle(self, name: str, entry: RefLayer) -> None:
        drawn = self.drawn.get(name)
        if drawn is None:
            return
        drawn.restyle(entry)
        self._restack()

    def set_order(self, names: list[str]) -> None:
        self.order = [n for n in names if n in self.drawn]
        self._restack()

    def _restack(self) -> None:
        for i, name in enumerate(self.order):
            self.drawn[name].set_z(Z_TOP - i * Z_STEP)
        self.label_item.layers = [s for name in self.order for s in self.drawn[name].labels]
        self.label_item.forget()

    def _refresh_tiles(self) -> None:
        (x0, x1), (y0, y1) = self.canvas.view.viewRange()
        mpp = self.canvas.metres_per_pixel()
        for drawn in self.drawn.values():
            tiles = drawn.tiles
            if tiles is not None and tiles.isVisible():
                try:
                    tiles.update_view(x0, y0, x1, y1, mpp)
                except Exception:  # a file gone mid-session: the layer goes blank, the map stays
                    log.exception("reference tiles not read")
