"""Scale bar and north arrow: children of the ViewBox, so they stay put while the map moves.

Web Mercator stretches distances by 1/cos(latitude): a map metre at 18°N is 0.95 ground metres
and at 23°N 0.92. The bar and the 1:N scale use ground metres at the centre of the view.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsObject

from hatang_desktop.core.geo.projection import mercator_to_lonlat

from ..strings import format_number, tr

MAX_BAR_PX = 130
INCH_M = 0.0254


def ground_metres_per_pixel(view) -> float:
    """Ground metres per screen pixel at the centre of a pyqtgraph ViewBox showing EPSG:3857."""
    (x0, x1), (y0, y1) = view.viewRange()
    width = max(view.width(), 1.0)
    _, lat = mercator_to_lonlat((x0 + x1) / 2, (y0 + y1) / 2)
    return (x1 - x0) / width * math.cos(math.radians(float(lat)))


def scale_denominator(ground_mpp: float, dpi: float) -> float:
    """N of the map scale 1:N on a screen of `dpi` dots per inch."""
    return ground_mpp / (INCH_M / max(dpi, 1.0))


def nice_length(max_metres: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above `max_metres` (a length a scale bar can show)."""
    if max_metres <= 0 or not math.isfinite(max_metres):
        return 0.0
    power = 10 ** math.floor(math.log10(max_metres))
    for step in (5, 2, 1):
        if step * power <= max_metres:
            return step * power
    return power


def format_distance(metres: float) -> str:
    """"1,5 km", "250 m": what a scale bar or a measurement shows."""
    if metres >= 1000:
        km = metres / 1000
        decimals = 0 if km >= 100 or km == int(km) else (1 if km >= 10 else 2)
        return tr("unit_km", value=format_number(km, decimals))
    return tr("unit_m", value=format_number(metres, 0 if metres >= 100 else 1))


def format_area(square_metres: float) -> str:
    if square_metres >= 1e6:
        return tr("unit_km2", value=format_number(square_metres / 1e6, 2))
    if square_metres >= 1e4:
        return tr("unit_ha", value=format_number(square_metres / 1e4, 2))
    return tr("unit_m2", value=format_number(square_metres, 0))


class _Overlay(QGraphicsObject):
    def __init__(self, view) -> None:
        super().__init__(view)  # a child of the ViewBox, not of its scrolling child group
        self.view = view
        self.setZValue(1000)
        self.font = QFont()
        self.font.setPointSizeF(8.5)
        self.font.setBold(True)


class ScaleBar(_Overlay):
    """Alternating black and white bar with its length, at the bottom left of the map."""

    MARGIN = 12

    def __init__(self, view) -> None:
        super().__init__(view)
        self.length_m = 0.0
        self.length_px = 0.0
        self.label = ""

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, MAX_BAR_PX + 24, 34)

    def refresh(self) -> None:
        mpp = ground_metres_per_pixel(self.view)
        self.length_m = nice_length(mpp * MAX_BAR_PX) if mpp > 0 else 0.0
        self.length_px = self.length_m / mpp if mpp > 0 else 0.0
        self.label = format_distance(self.length_m) if self.length_m else ""
        self.setPos(self.MARGIN, self.view.height() - 34 - self.MARGIN)
        self.update()

    def paint(self, painter: QPainter, *_args) -> None:
        if not self.length_px:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 200))
        painter.drawRoundedRect(QRectF(0, 0, self.length_px + 20, 34), 4, 4)
        painter.setFont(self.font)
        painter.setPen(QColor("#222222"))
        painter.drawText(QRectF(10, 2, self.length_px + 10, 16), Qt.AlignmentFlag.AlignLeft, self.label)
        quarter = self.length_px / 4
        for i in range(4):
            painter.setBrush(QColor("#222222") if i % 2 == 0 else QColor("#ffffff"))
            painter.setPen(QPen(QColor("#222222"), 1))
            painter.drawRect(QRectF(10 + i * quarter, 21, quarter, 6))


class NorthArrow(_Overlay):
    """A half-filled arrow with the letter for north (B for Bắc), at the top right of the map."""

    SIZE = 34
    MARGIN = 12

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.SIZE, self.SIZE + 14)

    def refresh(self) -> None:
        self.setPos(self.view.width() - self.SIZE - self.MARGIN, self.MARGIN)

    def paint(self, painter: QPainter, *_args) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        s = self.SIZE
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 200))
        painter.drawEllipse(QRectF(0, 12, s, s))
        top, bottom, mid = QPointF(s / 2, 14), QPointF(s / 2, s + 8), QPointF(s / 2, s - 2)
        left, right = QPointF(s / 2 - 9, s + 8), QPointF(s / 2 + 9, s + 8)
        pen = QPen(QColor("#222222"), 1.2)
        painter.setPen(pen)
        for side, fill in ((left, QColor("#222222")), (right, QColor("#ffffff"))):
            path = QPainterPath(top)
            path.lineTo(side)
            path.lineTo(mid)
            path.closeSubpath()
            painter.setBrush(QBrush(fill))
            painter.drawPath(path)
        del bottom
        painter.setFont(self.font)
        painter.drawText(QRectF(0, -2, s, 14), Qt.AlignmentFlag.AlignHCenter, tr("north_letter"))
