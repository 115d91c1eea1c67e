"""Place names as ONE graphics item: only names in view are painted, and none overlap.

A pg.TextItem per commune re-computes its transform on every view change: 3,300 communes of
the country cost ~200 ms per pan. Here a paint draws the few names in view from pre-laid-out
QStaticText, and which names fit together is decided once per zoom band (a quarter of a
power of two in metres per pixel) by a greedy pass over a spatial hash, then kept.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QStaticText
from PySide6.QtWidgets import QGraphicsObject

PAD_X, PAD_Y = 3.0, 1.0  # the plate around a name, pixels
BANDS_PER_OCTAVE = 4


def screen_size(painter: QPainter, world, option) -> tuple[float, float]:
    """The size in logical pixels of what a paint draws on: the device, or the exposed rect
    mapped to it when there is none."""
    device = painter.device()
    if device is not None:
        dpr = device.devicePixelRatioF()
        return device.width() / dpr, device.height() / dpr
    r = world.mapRect(option.exposedRect)
    return r.right(), r.bottom()


class LabelSetItem(QGraphicsObject):
    def __init__(self, z: float, font: QFont, colour: QColor, plate: QColor, gap_px: float = 6.0,
                 max_units_per_px: float = float("inf")) -> None:
        super().__init__()
        self.max_units_per_px = max_units_per_px  # zoomed out beyond this, no names at all
        self.setZValue(z)
        self.font = font
        self.colour = colour
        self.plate = QBrush(plate)
        self.gap_px = gap_px
        self.texts: list[str] = []
        self._static: list[QStaticText | None] = []
        self.xy = np.zeros((0, 2))
        self.wh = np.zeros((0, 2))  # plate size in pixels
        self._rect = QRectF()
        self._bands: dict[int, np.ndarray] = {}
        self.units_per_px = 0.0  # set by the canvas when the zoom changes
        self.last_drawn: list[int] = []

    def set_labels(self, x: np.ndarray, y: np.ndarray, texts: list[str]) -> None:
        self.prepareGeometryChange()
        self.texts = list(texts)
        metrics = QFontMetricsF(self.font)
        # Laid out when first drawn: shaping the country's 3,300 names up front blocked the GUI
        # thread ~150 ms while a map opened at a scale that shows none of them.
        self._static = [None] * len(self.texts)
        self.xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)]) if len(self.texts) else np.zeros((0, 2))
        self.wh = np.array([[metrics.horizontalAdvance(t) + 2 * PAD_X, metrics.height() + 2 * PAD_Y]
                            for t in self.texts]).reshape(-1, 2)
        self._bands.clear()
        if len(self.texts):
            (x0, y0), (x1, y1) = self.xy.min(axis=0), self.xy.max(axis=0)
            pad = max(x1 - x0, y1 - y0) * 0.1 + 1000.0
            self._rect = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
        else:
            self._rect = QRectF()
        self.update()

    def __len__(self) -> int:
        return len(self.texts)

    def _static_text(self, i: int) -> QStaticText:
        st = self._static[i]
        if st is None:
            st = self._static[i] = QStaticText(self.texts[i])
            st.prepare(font=self.font)
        return st

    # -- which names fit ---------------------------------------------------------------------

    def _band(self, units_per_px: float) -> int:
        return math.ceil(math.log2(max(units_per_px, 1e-9)) * BANDS_PER_OCTAVE)

    def placed(self, units_per_px: float) -> np.ndarray:
        """Mask of the names shown at this zoom: greedy, in data order, none overlapping. Laid
        out at the band's most zoomed-out end, so no two overlap anywhere in the band."""
        if units_per_px > self.max_units_per_px:
            return np.zeros(len(self.texts), bool)
        band = self._band(units_per_px)
        if band not in self._bands:
            self._bands[band] = self._declutter(2.0 ** (band / BANDS_PER_OCTAVE))
        return self._bands[band]

    def _declutter(self, mpp: float) -> np.ndarray:
        n = len(self.texts)
        shown = np.zeros(n, bool)
        if not n:
            return shown
        px = self.xy / mpp
        half = (self.wh + self.gap_px) / 2
        cell = float(max(half.max() * 2, 1.0))
        keys = np.floor(px / cell).astype(np.int64)
        buckets: dict[tuple[int, int], list[int]] = {}
        for i in range(n):
            kx, ky = int(keys[i, 0]), int(keys[i, 1])
            clash = False
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for j in buckets.get((kx + dx, ky + dy), ()):
                        if (abs(px[i, 0] - px[j, 0]) < half[i, 0] + half[j, 0]
                                and abs(px[i, 1] - px[j, 1]) < half[i, 1] + half[j, 1]):
                            clash = True
                            break
                    if clash:
                        break
                if clash:
                    break
            if not clash:
                shown[i] = True
                buckets.setdefault((kx, ky), []).append(i)
        return shown

    def prepare_view(self, units_per_px: float, dpr: float = 1.0) -> None:
        """Place the names for this scale now rather than in the first paint."""
        if len(self.texts):
            self.placed(units_per_px)

    def shown_count(self) -> int:
        """Names shown at the current zoom (anywhere, not only in view)."""
        return int(self.placed(self.units_per_px).sum()) if self.units_per_px > 0 and len(self.texts) else 0

    # -- painting ----------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, _widget=None) -> None:
        self.last_drawn = []
        if not self.texts:
            return
        world = painter.worldTransform()
        inverse, ok = world.inverted()
        if not ok:
            return
        units_per_px = math.hypot(inverse.m11(), inverse.m12())
        shown = self.placed(units_per_px)
        w, h = screen_size(painter, world, option)
        px = world.m11() * self.xy[:, 0] + world.m21() * self.xy[:, 1] + world.dx()
        py = world.m12() * self.xy[:, 0] + world.m22() * self.xy[:, 1] + world.dy()
        half_w, half_h = self.wh[:, 0] / 2, self.wh[:, 1] / 2
        inside = shown & (px + half_w >= 0) & (px - half_w <= w) & (py + half_h >= 0) & (py - half_h <= h)
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(self.font)
        for i in np.flatnonzero(inside):
            left, top = px[i] - half_w[i], py[i] - half_h[i]
            painter.setPen(QColor(0, 0, 0, 0))
            painter.setBrush(self.plate)
            painter.drawRoundedRect(QRectF(left, top, self.wh[i, 0], self.wh[i, 1]), 3, 3)
            painter.setPen(self.colour)
            painter.drawStaticText(QPointF(left + PAD_X, top + PAD_Y), self._static_text(i))
        painter.restore()
        self.last_drawn = [int(i) for i in np.flatnonzero(inside)]
