"""Industrial parks and clusters, economic zones and undergrounding areas: one path per kind."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QPainterPath

from hatang_desktop.core import schema
from hatang_desktop.core.map_data import MapData

from ...record_text import value_label
from .. import style
from .base import LegendEntry, MapLayer, make_path, path_item


class ZoneLayer(MapLayer):
    key, title_key, table = "zones", "layer_zones", "zones"
    fields = ("zones",)

    def __init__(self) -> None:
        super().__init__()
        self.by_kind = {c.code: path_item(style.zone_pen(c.code), style.zone_brush(c.code), -5)
                        for c in schema.forms().lists["zone_kinds"].choices}
        self.items = list(self.by_kind.values())

    def set_data(self, data: MapData | None) -> None:
        z = data.zones if data else None
        self.data = z
        self.shown = np.ones(len(z) if z else 0, bool)
        for kind, item in self.by_kind.items():
            item.setPath(make_path(*z.subset(z.attrs["kind"] == kind)) if z else QPainterPath())

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(value_label("zones", "kind", kind), "fill", item.pen(), item.brush())
                for kind, item in self.by_kind.items()]
