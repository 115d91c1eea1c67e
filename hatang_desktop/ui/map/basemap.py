"""The offline basemap: MBTiles raster tiles under the layers, as ONE graphics item.

The item keeps the decoded tiles of the current view and paints them in its own paint(); a
missing or undecodable tile is skipped (and counted for the status bar), never raised. A tile
outside the area the file says it covers (its `bounds`) is not missing: a basemap downloaded for
one commune has nothing to show beyond it, and saying "88 tiles missing" there only alarms.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsObject

from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.core.mbtiles import MBTiles, TileKey

DECODED_CACHE = 256  # 256 tiles of 256x256 RGBA: 64 MB at most

log = logging.getLogger(__name__)

COMPOSE_MAX_PX = 4096  # a composed view image at most 4096 px a side (64 MB); beyond, tile by tile


def _same_scale(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Two paints at the same zoom: a pan recomputes the view's transform with rounding noise."""
    return all(abs(x - y) <= 1e-7 * max(abs(x), abs(y)) for x, y in zip(a, b))


def covered_box(source: MBTiles) -> tuple[float, float, float, float] | None:
    """The Mercator box of the file's `bounds` metadata (W,S,E,N degrees), None when it has none."""
    try:
        west, south, east, north = (float(v) for v in str(source.metadata.get("bounds", "")).split(","))
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (west < east and south < north):
        return None
    x0, y0 = lonlat_to_mercator(west, max(-85.0, south))
    x1, y1 = lonlat_to_mercator(east, min(85.0, north))
    return float(x0), float(y0), float(x1), float(y1)


class BasemapItem(QGraphicsObject):
    problem = Signal(str)  # a user-readable note (missing or damaged tiles)

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(-40)
        self.source: MBTiles | None = None
        self.tiles: list[tuple[TileKey, QImage]] = []
        self.missing: list[TileKey] = []
        self.damaged: list[TileKey] = []
        self._rect = QRectF()
        self._decoded: OrderedDict[TileKey, tuple[QImage | None, str]] = OrderedDict()
        self._covered: tuple[float, float, float, float] | None = None
        # The view's tiles drawn once into one image at the screen's scale: a pan then paints a
        # single unscaled image (a blit) instead of resampling every tile in every frame.
        self._composed: tuple[tuple[float, float, float], QImage] | None = None
        self._last_scale: tuple[float, float, float] | None = None

    def set_source(self, source: MBTiles | None) -> None:
        if self.source is not None and self.source is not source:
            self.source.close()
        self.source = source
        self._composed = None
        self._covered = covered_box(source) if source is not None else None
        self._decoded.clear()
        self._set_tiles([])

    def _image(self, key: TileKey) -> tuple[QImage | None, str]:
        """(image, "") or (None, "missing" | "damaged"); decoded once, then cached."""
        if key in self._decoded:
            self._decoded.move_to_end(key)
            return self._decoded[key]
        data = self.source.tile(key)
        result: tuple[QImage | None, str] = (None, "missing")
        if data is not None:
            image = QImage.fromData(data)
            result = (None, "damaged") if image.isNull() else (image, "")
        self._decoded[key] = result
        if len(self._decoded) > DECODED_CACHE:
            self._decoded.popitem(last=False)
        return result

    def update_view(self, min_x: float, min_y: float, max_x: float, max_y: float, mpp: float,
                    budget_s: float | None = None) -> bool:
        """Fetch and decode the tiles covering the view (only those, and only once each). With
        `budget_s`, stop decoding new tiles once that much time went (the others are drawn at
        the next call); True when every tile of the view was looked at."""
        if self.source is None:
            return True
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        missing, damaged, tiles, complete, decoded = [], [], [], True, 0
        for key in self.source.tiles_for_view(mpp, min_x, min_y, max_x, max_y):
            if key not in self._decoded:
                # At least one new tile per call, so that a slow machine still gets there.
                if deadline is not None and decoded and time.perf_counter() > deadline:
                    complete = False
                    continue
                decoded += 1
            image, problem = self._image(key)
            if image is not None:
                tiles.append((key, image))
            elif problem == "damaged":
                damaged.append(key)
            elif self._covers(key):
                missing.append(key)
        self.missing, self.damaged = missing, damaged
        self._set_tiles(tiles)
        return complete

    def _covers(self, key: TileKey) -> bool:
        if self._covered is None:
            return True
        x0, y0, x1, y1 = key.bounds()
        cx0, cy0, cx1, cy1 = self._covered
        return x0 < cx1 and cx0 < x1 and y0 < cy1 and cy0 < y1

    def _set_tiles(self, tiles: list[tuple[TileKey, QImage]]) -> None:
        self.prepareGeometryChange()
        if [k for k, _ in tiles] != [k for k, _ in self.tiles]:
            self._composed = None
        self.tiles = tiles
        rect = QRectF()
        for key, _ in tiles:
            x0, y0, x1, y1 = key.bounds()
            rect = rect.united(QRectF(x0, y0, x1 - x0, y1 - y0))
        self._rect = rect
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, *_args) -> None:
        # An exception escaping paint() kills the process under PySide 6.11: a bad tile costs the
        # basemap for this frame, never the session.
        try:
            self._paint(painter)
        except Exception:
            log.exception("basemap not drawn")

    def _paint(self, painter: QPainter) -> None:
        if not self.tiles:
            return
        world = painter.worldTransform()
        device = painter.device()
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        scale = (world.m11(), world.m22(), dpr)
        target = world.mapRect(self._rect)
        if world.m12() or world.m21() or max(target.width(), target.height()) * dpr > COMPOSE_MAX_PX:
            self._draw_tiles(painter)  # rotated, or an export at print resolution: tile by tile
            return
        if self._composed is None or not _same_scale(self._composed[0], scale):
            # The scale is changing (a wheel zoom): draw directly; compose once it holds still.
            steady = self._last_scale is not None and _same_scale(self._last_scale, scale)
            self._last_scale = scale
            if not steady:
                self._composed = None
                self._draw_tiles(painter)
                return
            self._composed = (scale, self._compose(world, target, dpr))
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(round(target.left()), round(target.top())), self._composed[1])
        painter.restore()

    def _compose(self, world: QTransform, target: QRectF, dpr: float) -> QImage:
        image = QImage(max(1, math.ceil(target.width() * dpr)), max(1, math.ceil(target.height() * dpr)),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(dpr)
        image.fill(0)
        painter = QPainter(image)
        try:
            painter.translate(-round(target.left()), -round(target.top()))
            painter.setTransform(world, True)
            self._draw_tiles(painter)
        finally:
            painter.end()
        return image

    def _draw_tiles(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for key, image in self.tiles:
            x0, y0, x1, y1 = key.bounds()
            painter.save()
            # Item y points north; image rows run south from the top: flip while drawing.
            painter.translate(x0, y1)
            painter.scale((x1 - x0) / image.width(), -(y1 - y0) / image.height())
            painter.drawImage(0, 0, image)
            painter.restore()
