"""Where the GPS receiver is, drawn on the map: a blue dot, its accuracy circle and, while the
receiver moves, an arrow along its course over ground; and, while "Đi tới" guides the user to a
feature, a dashed line from the dot to it.

One overlay item in map metres (EPSG:3857, added with MapCanvas.add_overlay): the circle and the
line scale with the map, so the circle always covers the ground the accuracy figure covers. The
accuracy is ground metres; Web Mercator stretches ground by 1/cos(latitude), so the radius in map
metres is accuracy / cos(lat) (5 % more at 18°N). The dot and the arrow keep their size in pixels
at every scale: a child item that ignores the view's scaling.

With PySide6 6.11 an exception escaping a paint() override kills the process, so every paint
catches and logs.
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from hatang_desktop.core.geo.projection import lonlat_to_mercator

log = logging.getLogger(__name__)

DOT_COLOUR = QColor("#1a73e8")
CIRCLE_FILL = QColor(26, 115, 232, 45)
CIRCLE_LINE = QColor(26, 115, 232, 150)
POOR_COLOUR = QColor("#b8860b")  # a fix worse than the threshold: the dot says so
LOST_COLOUR = QColor("#8a8a8a")  # no fix now: the last position, greyed
DOT_RADIUS_PX = 7.0
ARROW_PX = 28.0  # from the dot's centre to the arrow's tip


class _Dot(QGraphicsItem):
    """The dot and the heading arrow, in screen pixels around the position (y down, 0° up)."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.heading: float | None = None
        self.colour = DOT_COLOUR

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        r = ARROW_PX + 4
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            if self.heading is not None:
                painter.save()
                painter.rotate(self.heading)  # clockwise from north = clockwise from screen up
                # An arrowhead just ahead of the dot, clear of it: seen at a glance while walking.
                arrow = QPolygonF([QPointF(0, -ARROW_PX), QPointF(9, -DOT_RADIUS_PX - 3),
                                   QPointF(0, -DOT_RADIUS_PX - 7), QPointF(-9, -DOT_RADIUS_PX - 3)])
                painter.setPen(QPen(QColor("white"), 1.5))
                painter.setBrush(QBrush(self.colour))
                painter.drawPolygon(arrow)
                painter.restore()
            painter.setPen(QPen(QColor("white"), 2.5))
            painter.setBrush(QBrush(self.colour))
            painter.drawEllipse(QPointF(0, 0), DOT_RADIUS_PX, DOT_RADIUS_PX)
        except Exception:  # noqa: BLE001 - see the module docstring
            log.exception("drawing the GPS dot failed")


class GpsMarker(QGraphicsObject):
    """The receiver's position on the map. `show_fix(lon, lat, accuracy_m, heading, good)`,
    `set_lost()`, `set_target((lon, lat))` / `set_target(None)`, `clear()`."""

    def __init__(self) -> None:
        super().__init__()
        self.position: tuple[float, float] | None = None  # map metres
        self.radius = 0.0  # map metres
        self.target: tuple[float, float] | None = None  # map metres
        self.dot = _Dot(self)
        self.hide()

    @property
    def heading(self) -> float | None:
        return self.dot.heading

    def show_fix(self, lon: float, lat: float, accuracy_m: float | None, heading: float | None,
                 good: bool = True) -> None:
        x, y = lonlat_to_mercator(lon, lat)
        self.prepareGeometryChange()
        self.position = (float(x), float(y))
        self.setPos(self.position[0], self.position[1])
        stretch = 1.0 / max(math.cos(math.radians(lat)), 1e-6)
        self.radius = 0.0 if accuracy_m is None else float(accuracy_m) * stretch
        self.dot.heading = heading
        self.dot.colour = DOT_COLOUR if good else POOR_COLOUR
        self.dot.update()
        self.show()
        self.update()

    def set_lost(self) -> None:
        """The receiver lost its fix: the last position greyed, without a heading."""
        self.dot.colour = LOST_COLOUR
        self.dot.heading = None
        self.dot.update()

    def set_target(self, lonlat: tuple[float, float] | None) -> None:
        """The feature "Đi tới" leads to (a dashed line from the dot), or None."""
        self.prepareGeometryChange()
        if lonlat is None:
            self.target = None
        else:
            x, y = lonlat_to_mercator(*lonlat)
            self.target = (float(x), float(y))
        self.update()

    def _target_offset(self) -> QPointF | None:
        if self.target is None or self.position is None:
            return None
        return QPointF(self.target[0] - self.position[0], self.target[1] - self.position[1])

    def clear(self) -> None:
        self.prepareGeometryChange()
        self.position = None
        self.hide()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        r = self.radius
        rect = QRectF(-r, -r, 2 * r, 2 * r)
        offset = self._target_offset()
        if offset is not None:
            rect = rect.united(QRectF(QPointF(0, 0), offset).normalized())
        return rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            offset = self._target_offset()
            if offset is not None:
                pen = QPen(QColor("#d93025"), 2, Qt.PenStyle.DashLine)
                pen.setCosmetic(True)
                painter.setPen(pen)
                path = QPainterPath(QPointF(0, 0))
                path.lineTo(offset)
                painter.drawPath(path)
            if self.radius > 0:
                pen = QPen(CIRCLE_LINE, 1.5)
                pen.setCosmetic(True)  # a line width in pixels, not in map metres
                painter.setPen(pen)
                painter.setBrush(QBrush(CIRCLE_FILL))
                painter.drawEllipse(QPointF(0, 0), self.radius, self.radius)
        except Exception:  # noqa: BLE001 - see the module docstring
            log.exception("drawing the GPS accuracy circle failed")


__all__ = ["GpsMarker"]
