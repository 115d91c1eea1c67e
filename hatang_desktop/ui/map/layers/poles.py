"""Poles: grey, orange when shared; drawn only when zoomed in far enough to tell them apart."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from .base import LayerFilter, LegendEntry, MapLayer, scatter


class PoleLayer(MapLayer):
    """Poles crowd into a haze at province scale: drawn only below MAX_MPP metres per pixel."""

    key, title_key, table = "poles", "layer_poles", "poles"
    filterable = True
    MAX_MPP = 40.0

    def __init__(self) -> None:
        super().__init__()
        # Two scatters, plain and shared (drawn above), each with ONE brush: per-point brush
        # arrays cost 0.2 s per 15k poles in setData, 4 s at national scale.
        self.scatter = scatter(5)
        self.shared_scatter = scatter(5.5)
        self.items = [self.scatter, self.shared_scatter]
        self._in_scale = True
        self._plain = pg.mkBrush(style.POLE_COLOUR)
        self._shared = pg.mkBrush(style.POLE_SHARED_COLOUR)

    def set_data(self, data: MapData | None) -> None:
        p = data.poles if data else None
        self.data = p if p and len(p) else None
        self._redraw()

    def set_filter(self, layer_filter: LayerFilter) -> None:
        super().set_filter(layer_filter)
        self._redraw()

    def _redraw(self) -> None:
        p = self.data
        if p is None:
            self.shown = np.zeros(0, bool)
            self.scatter.setData(x=[], y=[])
            self.shared_scatter.setData(x=[], y=[])
            return
        # Cables carry no technology: only the operator part of the filter applies.
        self.shown = self.filter.operator_mask(p.attrs["op_bits"])
        plain = self.shown & ~p.attrs["shared"]
        shared = self.shown & p.attrs["shared"]
        self.scatter.setData(x=p.x[plain], y=p.y[plain], brush=self._plain, size=3, pen=pg.mkPen(None), symbol="o")
        self.shared_scatter.setData(x=p.x[shared], y=p.y[shared], brush=self._shared, size=5, pen=pg.mkPen(None),
                                    symbol="o")

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for item in self.items:
            item.setVisible(visible and self._in_scale)

    def view_changed(self, metres_per_pixel: float) -> None:
        self._in_scale = metres_per_pixel <= self.MAX_MPP
        self.set_visible(self.visible)

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_zoom_in_to_see"), "note"),
                LegendEntry(tr("legend_pole"), "symbol", None, self._plain, "o"),
                LegendEntry(tr("legend_pole_shared"), "symbol", None, self._shared, "o")]
