"""The dashboard's charts: horizontal bars, one row per commune (or operator, technology), the
name on the left, the value at the bar's end.

Vertical bars gave 69 communes 69 slivers and room for four names. Here every row has its name
(elided when long, whole in the tooltip) and the chart is as tall as its rows, in a scroll area
that only scrolls vertically: 150 communes read the same as 15. Communes come worst first (the
lowest value at the top: the communes the department must push), those without a value last.
The three charts are tabs of their own, each shown whole: none is below the fold.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QLabel, QScrollArea, QTabWidget, QToolTip,
                               QVBoxLayout, QWidget)

from ..strings import tr

BAR_COLOUR = "#2166ac"
NO_VALUE = "—"


def worst_first(values: np.ndarray) -> np.ndarray:
    """The order that puts the lowest value first and rows without one (NaN) last."""
    values = np.asarray(values, dtype=float)
    return np.argsort(np.where(np.isfinite(values), values, np.inf), kind="stable")


class HBarChart(QWidget):
    """Horizontal bars: `set_bars(labels, [(values, colour), ...], format)`; several series
    draw as thin bars under one another in each row (sites per operator, per technology)."""

    BAR_PX = 13  # one series' bar
    SUB_PX = 7  # a bar of a row with several series
    GAP_PX = 7
    LABEL_SHARE = 0.42  # of the width, at most, for the names
    VALUE_PX = 64  # room for the value after the longest bar

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.series: list[tuple[np.ndarray, str]] = []
        self.format = str
        self.top: float | None = None
        self.setMouseTracking(True)

    def set_bars(self, labels: list[str], series: list[tuple[np.ndarray, str]], fmt=None,
                 top: float | None = None) -> None:
        """`top`: the value a full-width bar stands for (100 for a rate); default the largest."""
        self.top = top
        self.labels = list(labels)
        self.series = [(np.asarray(v, dtype=float), c) for v, c in series]
        self.format = fmt or (lambda v: NO_VALUE if not np.isfinite(v) else f"{v:g}")
        self.updateGeometry()
        self.adjustSize()
        self.update()

    def values(self, k: int = 0) -> np.ndarray:
        """The values of series `k`, in row order (top to bottom)."""
        return self.series[k][0] if self.series else np.zeros(0)

    def row_height(self) -> int:
        n = max(len(self.series), 1)
        return (self.BAR_PX if n == 1 else self.SUB_PX * n) + self.GAP_PX

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(320, self.row_height() * len(self.labels) + 8)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(200, self.sizeHint().height())

    def _label_width(self) -> int:
        metrics = QFontMetrics(self.font())
        widest = max((metrics.horizontalAdvance(t) for t in self.labels), default=0) + 8
        return int(min(widest, self.width() * self.LABEL_SHARE))

    def row_at(self, y: float) -> int | None:
        i = int((y - 4) // self.row_height())
        return i if 0 <= i < len(self.labels) else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        i = self.row_at(event.position().y())
        if i is not None:
            values = "  ".join(self.format(v[i]) for v, _c in self.series)
            QToolTip.showText(event.globalPosition().toPoint(), f"{self.labels[i]}: {values}", self)
        super().mouseMoveEvent(event)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        if not self.labels:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        label_w = self._label_width()
        left = label_w + 6
        span = max(self.width() - left - self.VALUE_PX, 20)
        top_value = max((float(np.nanmax(v)) for v, _c in self.series if np.isfinite(v).any()), default=0.0)
        top_value = max(top_value, self.top or 0.0)
        scale = span / top_value if top_value > 0 else 0.0
        row_h = self.row_height()
        n = max(len(self.series), 1)
        bar_h = self.BAR_PX if n == 1 else self.SUB_PX
        text = QColor("#333333")
        for i, label in enumerate(self.labels):
            y0 = 4 + i * row_h
            painter.setPen(text)
            painter.drawText(QRectF(0, y0, label_w, row_h - self.GAP_PX + 2),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(label, Qt.TextElideMode.ElideRight, label_w - 4))
            for k, (values, colour) in enumerate(self.series):
                v = values[i]
                y = y0 + k * bar_h
                width = max(float(v) * scale, 0.0) if np.isfinite(v) else 0.0
                painter.fillRect(QRectF(left, y, width, bar_h - (1 if n > 1 else 0)), QColor(colour))
                if n == 1:
                    painter.setPen(text)
                    painter.drawText(QRectF(left + width + 4, y - 2, self.VALUE_PX, bar_h + 4),
                                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.format(v))
        painter.end()


def chart_scroll(chart: HBarChart) -> QScrollArea:
    """A chart as tall as its rows, scrolling up and down only (never sideways)."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(chart)
    return scroll


class ChartsTab(QWidget):
    """The indicator chosen, by commune worst first; sites by operator and by technology; one
    inner tab each."""

    def __init__(self, keys: tuple[str, ...], label_of) -> None:
        super().__init__()
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 4, 0, 0)
        row = QFormLayout()
        self.chart_combo = QComboBox()
        self.chart_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chart_combo.setMinimumContentsLength(16)
        for key in keys:
            self.chart_combo.addItem(label_of(key), key)
        row.addRow(tr("dash_chart_indicator"), self.chart_combo)
        v.addLayout(row)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.commune_chart, self.operator_chart, self.tech_chart = HBarChart(), HBarChart(), HBarChart()
        self.order_note = QLabel(tr("dash_chart_order"))
        self.order_note.setWordWrap(True)
        self.operator_legend = QLabel()
        for chart, head, name in ((self.commune_chart, self.order_note, "dash_chart_commune"),
                                  (self.operator_chart, self.operator_legend, "dash_chart_by_operator"),
                                  (self.tech_chart, QLabel(tr("dash_chart_technology")), "dash_chart_by_technology")):
            page = QWidget()
            inner = QVBoxLayout(page)
            inner.setContentsMargins(4, 4, 4, 0)
            inner.addWidget(head)
            inner.addWidget(chart_scroll(chart), 1)
            self.views.addTab(page, tr(name))
        v.addWidget(self.views, 1)
