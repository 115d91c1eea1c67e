"""Province and commune boundaries, the land fill, and commune names that never overlap."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QBrush, QFont, QPainterPath

from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from .base import LegendEntry, MapLayer, make_path, path_item


class BoundaryLayer(MapLayer):
    key, title_key, table = "boundaries", "layer_boundaries", "admin_units"
    LABEL_GAP_PX = 6  # empty space kept between two commune names

    def __init__(self) -> None:
        super().__init__()
        self.land = path_item(None, QBrush(style.colour(style.LAND)), -30)
        self.communes = path_item(style.pen(*style.COMMUNE_PEN), None, -20)
        self.province = path_item(style.pen(*style.PROVINCE_PEN), None, -19)
        self.items = [self.land, self.communes, self.province]
        self.labels: list[pg.TextItem] = []
        self._shown = np.zeros(0, bool)  # which labels fit at the current zoom
        self._label_xy = np.zeros((0, 2))
        self._label_wh = np.zeros((0, 2))
        self._mpp = 0.0

    def set_data(self, data: MapData | None) -> None:
        b = data.boundaries if data else None
        self.data = b
        self.shown = np.ones(len(b) if b else 0, bool)
        province = b.attrs["level"] == "province" if b else np.zeros(0, bool)
        self.land.setPath(make_path(*b.subset(province)) if b else QPainterPath())
        self.province.setPath(self.land.path())
        self.communes.setPath(make_path(*b.subset(~province)) if b else QPainterPath())
        self._make_labels(data)

    def _make_labels(self, data: MapData | None) -> None:
        for item in self.labels:
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.labels = []
        lab = data.commune_labels if data else None
        if lab is None or not len(lab):
            self._shown, self._label_xy, self._label_wh = np.zeros(0, bool), np.zeros((0, 2)), np.zeros((0, 2))
            return
        font = QFont()
        font.setPointSizeF(8)
        font.setBold(True)
        for x, y, name, unit in zip(lab.x, lab.y, lab.attrs["name"], lab.attrs["unit_type"]):
            # "Xã Kỳ Anh" -> "Kỳ Anh": the unit type repeats on every label and crowds the map.
            short = name[len(unit):].strip() if unit and name.startswith(unit + " ") else name
            # On top of the sites, on a light plate: a name under 3,600 symbols cannot be read.
            item = pg.TextItem(short, color=style.LABEL_COLOUR, anchor=(0.5, 0.5),
                               fill=pg.mkBrush(style.LABEL_PLATE))
            item.setFont(font)
            item.setPos(float(x), float(y))
            item.setZValue(30)
            self.labels.append(item)
        self._label_xy = np.column_stack([lab.x, lab.y])
        self._label_wh = np.array([[i.textItem.boundingRect().width(), i.textItem.boundingRect().height()]
                                   for i in self.labels]) + self.LABEL_GAP_PX
        self._shown = np.ones(len(self.labels), bool)
        if self._mpp:
            self._declutter(self._mpp)

    def set_visible(self, visible: bool) -> None:
        super().set_visible(visible)
        self._apply_label_visibility()

    def view_changed(self, metres_per_pixel: float) -> None:
        if metres_per_pixel != self._mpp:  # panning keeps the zoom: nothing to recompute
            self._mpp = metres_per_pixel
            self._declutter(metres_per_pixel)

    def _declutter(self, mpp: float) -> None:
        """Greedy placement: a label is shown unless it would overlap one already shown."""
        n = len(self.labels)
        shown = np.zeros(n, bool)
        px = self._label_xy / max(mpp, 1e-9)
        kept: list[int] = []
        for i in range(n):
            if kept:
                k = np.asarray(kept)
                clash = np.all(np.abs(px[k] - px[i]) < (self._label_wh[k] + self._label_wh[i]) / 2, axis=1)
                if clash.any():
                    continue
            kept.append(i)
            shown[i] = True
        self._shown = shown
        self._apply_label_visibility()

    def _apply_label_visibility(self) -> None:
        for item, shown in zip(self.labels, self._shown):
            item.setVisible(bool(self.visible and shown))

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_province"), "line", self.province.pen()),
                LegendEntry(tr("legend_commune"), "line", self.communes.pen())]
