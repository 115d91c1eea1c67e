"""Poles: grey, orange when shared; drawn only when zoomed in far enough to tell them apart."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData

from ...record_text import record_label
from ...strings import tr
from .. import style
from ..points import PointCloudItem, PointStyle, prepare_points
from .base import LayerFilter, LegendEntry, MapLayer, patch_cloud


class PoleLayer(MapLayer):
    """Poles crowd into a haze at province scale: drawn only below MAX_MPP metres per pixel."""

    key, title_key, table = "poles", "", "poles"
    fields = ("poles",)
    filterable = True
    LABEL_PRIORITY = 2
    label_field, LABEL_MAX_MPP, LABEL_SYMBOL_PX = "code", 1.5, 5.0  # pole numbers: a street at most
    MAX_MPP = 40.0

    def __init__(self) -> None:
        super().__init__()
        # One item, two looks: plain, and shared (drawn on top).
        self.scatter = PointCloudItem(5)
        self.items = [self.scatter]
        self._in_scale = True
        self._plain = pg.mkBrush(style.POLE_COLOUR)
        self._shared = pg.mkBrush(style.POLE_SHARED_COLOUR)
        none = pg.mkPen(None)
        self.scatter.set_styles([PointStyle("o", 3, none, self._plain), PointStyle("o", 5, none, self._shared)])

    def set_data(self, data: MapData | None) -> None:
        p = data.poles if data else None
        self.data = p if p and len(p) else None
        ready = (getattr(data, "prepared", None) or {}).pop(self.key, None)
        if ready is not None and ready["data"] is self.data and not self.filter.active:
            self.shown = np.ones(len(self.data), bool)  # the worker sorted them: every pole shown
            self.scatter.set_prepared(ready["cloud"])
            return
        self._redraw()

    @classmethod
    def prepare(cls, data: MapData) -> dict | None:
        """The unfiltered item's grid, on the loading worker: sorting the country's 504k poles
        took ~150 ms of the GUI thread."""
        return cls.prepare_poles(data.poles)

    @classmethod
    def prepare_poles(cls, p) -> dict | None:
        """prepare for a pole layer read on its own (read after the map is shown)."""
        if p is None or not len(p):
            return None
        shared = p.attrs["shared"].astype(np.int32)
        return {"data": p, "cloud": prepare_points(p.x, p.y, shared, shared)}

    def set_filter(self, layer_filter: LayerFilter) -> None:
        super().set_filter(layer_filter)
        self._redraw()

    def _redraw(self) -> None:
        p = self.data
        if p is None:
            self.shown = np.zeros(0, bool)
            self.scatter.set_points(np.zeros(0), np.zeros(0))
            return
        # Cables carry no technology: only the operator part of the filter applies.
        self.shown = self.filter.operator_mask(p.attrs["op_bits"])
        shared = p.attrs["shared"][self.shown].astype(np.int32)
        self.scatter.set_points(p.x[self.shown], p.y[self.shown], shared, shared)

    def patch_items(self, new, change, add) -> bool:
        shown = self.filter.operator_mask(add.attrs["op_bits"])
        plan = self.point_item_patch(self.shown, change, shown)
        if plan is None:
            return False
        shared = add.attrs["shared"].astype(np.int32)
        patch_cloud(self.scatter, plan, add, shared, shared)
        self.data, self.shown = new, np.concatenate([self.shown[~change.gone], shown[change.appended]])
        return True

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for item in self.items:
            item.setVisible(visible and self._in_scale)

    def is_drawn(self) -> bool:
        return self.visible and self._in_scale

    def view_changed(self, metres_per_pixel: float) -> None:
        self._in_scale = bool(metres_per_pixel <= self.MAX_MPP)  # numpy floats give numpy bools
        self.set_visible(self.visible)

    def legend(self) -> list[LegendEntry]:
        note = tr("legend_loading") if self.loading else tr("legend_zoom_in_to_see")
        return [LegendEntry(note, "note"),
                LegendEntry(record_label("poles", short=True), "symbol", None, self._plain, "o",
                            until_mpp=self.MAX_MPP),
                LegendEntry(tr("legend_pole_shared"), "symbol", None, self._shared, "o", until_mpp=self.MAX_MPP)]
