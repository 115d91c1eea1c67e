"""Villages (thôn, tổ dân phố) at their centres; off by default, they crowd the province view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from ..points import PointCloudItem, PointStyle
from .base import LegendEntry, MapLayer


class VillageLayer(MapLayer):
    key, title_key, table = "villages", "layer_villages", "admin_units"
    fields = ("villages",)
    visible_by_default = False  # 1,100 dots at province scale hide the sites; on when zoomed in

    def __init__(self) -> None:
        super().__init__()
        self.scatter = PointCloudItem(3)
        self.items = [self.scatter]
        self._pen = style.pen(style.VILLAGE_COLOUR, 1.2)
        self.scatter.set_styles([PointStyle("o", 6, self._pen, pg.mkBrush("#ffffffc0"))])

    def set_data(self, data: MapData | None) -> None:
        v = data.villages if data else None
        self.data = v if v and len(v) else None
        self.shown = np.ones(len(self.data) if self.data else 0, bool)
        if self.data is None:
            self.scatter.set_points(np.zeros(0), np.zeros(0))
            return
        self.scatter.set_points(v.x, v.y)

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_village"), "symbol", self._pen, pg.mkBrush("#ffffff"), "o")]
