"""BTS sites: colour = operator, symbol = tower type, black outline = shared, purple ring = 5G."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core import domain
from hatang_desktop.core.map_data import MapData

from ... import strings
from ...strings import tr
from .. import style
from .base import LayerFilter, LegendEntry, MapLayer, choose, scatter


class SiteLayer(MapLayer):
    key, title_key, table = "sites", "layer_sites", "sites"
    filterable = True
    FAR_MPP = 60.0  # zoomed out beyond this, symbols shrink so a province's sites do not merge

    def __init__(self) -> None:
        super().__init__()
        self._far = False
        self.rings = scatter(9)  # under the sites: the 5G ring shows around the symbol
        self.scatter = scatter(10)
        self.items = [self.rings, self.scatter]
        self._ring_pen = style.pen(style.SITE_5G_COLOUR, 2.2)
        self._shared_pen = style.pen(*style.SITE_SHARED_PEN)
        self._shared_pen_far = style.pen(style.SITE_SHARED_PEN[0], 1.0)
        self._plain_pen = style.pen(*style.SITE_PLAIN_PEN)
        self._operators: list[str] = []
        self._towers: list[str] = []
        self._brush = np.zeros(0, dtype=object)
        self._symbol = np.zeros(0, dtype=object)
        self._shared_sorted = np.zeros(0, bool)

    def set_data(self, data: MapData | None) -> None:
        s = data.sites if data else None
        self.data = s if s and len(s) else None
        if self.data is None:
            self._operators, self._towers = [], []
        else:
            a = s.attrs
            self._operators = sorted(set(a["operator"]))
            self._towers = sorted(set(a["tower_type"]) - {""})
            brushes = {}
            for op in self._operators:
                c = style.colour(style.operator_colour(op))
                faded = style.colour(style.operator_colour(op))
                faded.setAlpha(90)
                brushes[(op, "operating")], brushes[(op, "planned")] = pg.mkBrush(c), pg.mkBrush(faded)
                brushes[(op, "dismantled")] = pg.mkBrush(style.SITE_INACTIVE_COLOUR)
            self._brush = np.asarray([brushes.get((op, st), brushes[(op, "operating")])
                                      for op, st in zip(a["operator"], a["status"])], dtype=object)
            self._symbol = np.asarray([style.TOWER_SYMBOLS.get(t, "o") for t in a["tower_type"]], dtype=object)
        self._redraw()

    def set_filter(self, layer_filter: LayerFilter) -> None:
        super().set_filter(layer_filter)
        self._redraw()

    def _redraw(self) -> None:
        s = self.data
        if s is None:
            self.shown = np.zeros(0, bool)
            self.scatter.setData(x=[], y=[])
            self.rings.setData(x=[], y=[])
            return
        a = s.attrs
        self.shown = self.filter.site_mask(a["op_bits"], a["tech_bits"])
        idx = np.flatnonzero(self.shown)
        # Shared sites last, so their outline is not hidden under a neighbour.
        order = idx[np.argsort(a["shared"][idx], kind="stable")]
        self._shared_sorted = a["shared"][order]
        self.scatter.setData(x=s.x[order], y=s.y[order], brush=self._brush[order], symbol=self._symbol[order])
        g5 = idx[a["has_5g"][idx]]
        self.rings.setData(x=s.x[g5], y=s.y[g5], symbol="o", pen=self._ring_pen, brush=pg.mkBrush(None))
        self._apply_scale()

    def view_changed(self, metres_per_pixel: float) -> None:
        far = metres_per_pixel > self.FAR_MPP
        if far != self._far:
            self._far = far
            self._apply_scale()

    def _apply_scale(self) -> None:
        if not len(self.scatter.data):
            return
        size = style.SITE_SIZE_FAR if self._far else style.SITE_SIZE
        shared_pen = self._shared_pen_far if self._far else self._shared_pen
        self.scatter.setSize(size)
        self.scatter.setPen(choose(self._shared_sorted, shared_pen, self._plain_pen))
        self.rings.setSize(size + (6 if self._far else 9))

    def legend(self) -> list[LegendEntry]:
        entries = [LegendEntry(style.operator_brand(op), "symbol", self._plain_pen,
                               pg.mkBrush(style.operator_colour(op)), "o") for op in self._operators]
        grey = pg.mkBrush("#8c8c8c")
        entries += [LegendEntry(strings.choice_label(domain.TOWER_TYPES, t), "symbol", self._plain_pen, grey,
                                style.TOWER_SYMBOLS[t]) for t in self._towers]
        entries += [
            LegendEntry(tr("legend_site_shared"), "symbol", self._shared_pen, pg.mkBrush("#ffffff"), "o"),
            LegendEntry(tr("legend_site_5g"), "symbol", self._ring_pen, pg.mkBrush(None), "o"),
            LegendEntry(tr("legend_site_inactive"), "symbol", self._plain_pen,
                        pg.mkBrush(style.SITE_INACTIVE_COLOUR), "o"),
        ]
        return entries
