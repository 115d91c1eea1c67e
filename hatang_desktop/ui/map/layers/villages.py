"""Villages (thôn, tổ dân phố) at their centres; off by default, they crowd the province view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from .base import LegendEntry, MapLayer, scatter


class VillageLayer(MapLayer):
    key, title_key, table = "villages", "layer_villages", "admin_units"
    visible_by_default = False  # 1,100 dots at province scale hide the sites; on when zoomed in

    def __init__(self) -> None:
        super().__init__()
        self.scatter = scatter(3)
        self.items = [self.scatter]
        self._pen = style.pen(style.VILLAGE_COLOUR, 1.2)

    def set_data(self, data: MapData | None) -> None:
        v = data.villages if data else None
        self.data = v if v and len(v) else None
        self.shown = np.ones(len(self.data) if self.data else 0, bool)
        if self.data is None:
            self.scatter.setData(x=[], y=[])
            return
        self.scatter.setData(x=v.x, y=v.y, symbol="o", size=6, pen=self._pen,
                             brush=pg.mkBrush("#ffffffc0"))

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_village"), "symbol", self._pen, pg.mkBrush("#ffffff"), "o")]
