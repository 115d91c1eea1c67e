"""The basemap's attribution ("© …" from its MBTiles metadata), small at the bottom right of the
map on a light band, as every web map writes it: the provider's terms ask for it, and a printed
or exported view must still say whose map is under the sites.

A child of the ViewBox like the scale bar: it stays put while the map moves.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter

from .overlays import _Overlay

log = logging.getLogger(__name__)

MAX_WIDTH_FRACTION = 0.6  # a long attribution is elided rather than cover the map's width
PAD_X, PAD_Y = 5.0, 2.0


class AttributionOverlay(_Overlay):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.font.setPointSizeF(7.5)  # smaller and lighter than the scale bar: a credit, not a reading
        self.font.setBold(False)
        self.text = ""
        self.shown_text = ""
        self._size = (0.0, 0.0)
        self.setVisible(False)

    def set_text(self, text: str | None) -> None:
        self.text = " ".join(str(text or "").split())  # one line, whatever the file holds
        self.setVisible(bool(self.text))
        self.refresh()

    def refresh(self) -> None:
        """Fit the text to the view's width and sit at its bottom-right corner."""
        if not self.text:
            return
        metrics = QFontMetricsF(self.font)
        width = max(40.0, self.view.width() * MAX_WIDTH_FRACTION)
        shown = metrics.elidedText(self.text, Qt.TextElideMode.ElideMiddle, width)
        w, h = metrics.horizontalAdvance(shown) + 2 * PAD_X, metrics.height() + 2 * PAD_Y
        self.prepareGeometryChange()
        self.shown_text, self._size = shown, (w, h)
        self.setToolTip(self.text if shown != self.text else "")
        self.setPos(self.view.width() - w, self.view.height() - h)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, *self._size)

    def paint(self, painter: QPainter, *_args) -> None:
        # An exception escaping paint() kills the process under PySide 6.11.
        try:
            w, h = self._size
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 255, 255, 190))
            painter.drawRect(QRectF(0, 0, w, h))
            painter.setFont(self.font)
            painter.setPen(QColor("#333333"))
            painter.drawText(QRectF(PAD_X, PAD_Y, w - 2 * PAD_X, h - 2 * PAD_Y),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.shown_text)
        except Exception:
            log.exception("basemap attribution not drawn")
