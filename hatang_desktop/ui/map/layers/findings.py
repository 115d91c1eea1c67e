"""Unresolved findings: a red flag where an inspector found something."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from .base import LegendEntry, MapLayer, scatter


class FindingLayer(MapLayer):
    key, title_key, table = "findings", "layer_findings", "findings"

    def __init__(self) -> None:
        super().__init__()
        self.scatter = scatter(20)
        self.items = [self.scatter]
        self._symbol = style.flag_symbol()
        self._pen = style.pen("#7a0000", 1.0)
        self._brush = pg.mkBrush(style.FINDING_COLOUR)

    def set_data(self, data: MapData | None) -> None:
        f = data.findings if data else None
        self.data = f if f and len(f) else None
        self.shown = np.ones(len(self.data) if self.data else 0, bool)
        if self.data is None:
            self.scatter.setData(x=[], y=[])
            return
        self.scatter.setData(x=f.x, y=f.y, symbol=self._symbol, size=18, pen=self._pen, brush=self._brush)

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_finding"), "symbol", self._pen, self._brush, self._symbol)]
