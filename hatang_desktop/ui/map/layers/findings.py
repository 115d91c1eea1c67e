"""Unresolved findings: a red flag where an inspector found something."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from ..points import PointCloudItem, PointStyle
from .base import LegendEntry, MapLayer, patch_cloud


class FindingLayer(MapLayer):
    key, title_key, table = "findings", "layer_findings", "findings"
    fields = ("findings",)

    def __init__(self) -> None:
        super().__init__()
        self.scatter = PointCloudItem(20)
        self.items = [self.scatter]
        self._symbol = style.flag_symbol()
        self._pen = style.pen("#7a0000", 1.0)
        self._brush = pg.mkBrush(style.FINDING_COLOUR)
        self.scatter.set_styles([PointStyle(self._symbol, 18, self._pen, self._brush)])

    def set_data(self, data: MapData | None) -> None:
        f = data.findings if data else None
        self.data = f if f and len(f) else None
        self.shown = np.ones(len(self.data) if self.data else 0, bool)
        if self.data is None:
            self.scatter.set_points(np.zeros(0), np.zeros(0))
            return
        self.scatter.set_points(f.x, f.y)

    def patch_items(self, new, change, add) -> bool:
        plan = self.point_item_patch(self.shown, change, np.ones(len(add), bool))
        patch_cloud(self.scatter, plan, add)
        self.data, self.shown = new, np.ones(len(new), bool)
        return True

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_finding"), "symbol", self._pen, self._brush, self._symbol)]
