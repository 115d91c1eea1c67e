"""Province and commune boundaries, the land fill, and commune names that never overlap."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont, QPainterPath

from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from ..aggregate import LinesImageItem
from ..labels import LabelSetItem
from .base import LegendEntry, MapLayer, TiledPathItem, make_path, path_item


class BoundaryLayer(MapLayer):
    key, title_key, table = "boundaries", "layer_boundaries", "admin_units"
    fields = ("boundaries", "commune_labels")
    LABEL_GAP_PX = 6  # empty space kept between two commune names
    # Commune names are for a province or a few of them; with the country on screen they are a
    # random sample of 3,300 names that helps no one (QGIS-style scale-dependent labels).
    LABEL_MAX_MPP = 600.0

    def __init__(self) -> None:
        super().__init__()
        self.land = path_item(None, QBrush(style.colour(style.LAND)), -30)
        # Outlines culled and simplified like routes; the fill stays one path (a fill cannot
        # be cut into runs), and a province's few thousand vertices fill fast.
        self.communes = TiledPathItem(style.pen(*style.COMMUNE_PEN), -20)
        self.province = TiledPathItem(style.pen(*style.PROVINCE_PEN), -19)
        font = QFont()
        font.setPointSizeF(8)
        font.setBold(True)
        # On top of the sites, on a light plate: a name under 3,600 symbols cannot be read.
        self.labels = LabelSetItem(30, font, style.colour(style.LABEL_COLOUR), style.colour(style.LABEL_PLATE),
                                   self.LABEL_GAP_PX, self.LABEL_MAX_MPP)
        # The country's 3,300 commune outlines as one image when it is all on screen.
        self.communes_raster = LinesImageItem([self.communes], -20)
        self.items = [self.land, self.communes, self.communes_raster, self.province, self.labels]

    def set_data(self, data: MapData | None) -> None:
        for _ in self.set_data_steps(data):
            pass

    def set_data_steps(self, data: MapData | None):
        b = data.boundaries if data else None
        self.data = b
        self.shown = np.ones(len(b) if b else 0, bool)
        province = b.attrs["level"] == "province" if b else np.zeros(0, bool)
        land = make_path(*b.subset(province)) if b else QPainterPath()
        land.setFillRule(Qt.FillRule.WindingFill)  # provinces that overlap stay filled (rings oriented in core)
        self.land.setPath(land)
        self.province.set_layer(b, province)
        self.communes.set_layer(b, ~province)
        self.communes_raster.sources_changed()
        yield
        lab = data.commune_labels if data else None
        if lab is None or not len(lab):
            self.labels.set_labels(np.zeros(0), np.zeros(0), [])
            yield
            return
        # "Xã Kỳ Anh" -> "Kỳ Anh": the unit type repeats on every label and crowds the map.
        names = [name[len(unit):].strip() if unit and name.startswith(unit + " ") else name
                 for name, unit in zip(lab.attrs["name"], lab.attrs["unit_type"])]
        self.labels.set_labels(lab.x, lab.y, names)
        yield

    def view_changed(self, metres_per_pixel: float) -> None:
        self.labels.units_per_px = metres_per_pixel

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_province"), "line", self.province.pen),
                LegendEntry(tr("legend_commune"), "line", self.communes.pen)]
