"""Map layers: each owns a fixed, small set of graphics items fed from core arrays.

A layer draws a whole record type with one item (all sites in one scatter, all routes of one
operator and method in one path), because thousands of items make pyqtgraph crawl (PITFALLS).
The canvas only adds the items; the layer alone decides what they show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from hatang_desktop.core import domain
from hatang_desktop.core.map_data import MapData, PathLayer

from .. import strings
from ..strings import tr
from . import style


@dataclass
class LegendEntry:
    """What the layer panel draws as a swatch: a point symbol, a line, or a filled area."""

    label: str
    kind: str  # "symbol" | "line" | "fill" | "note" (text only)
    pen: QPen | None = None
    brush: QBrush | None = None
    symbol: object = "o"


def _path(x: np.ndarray, y: np.ndarray, connect: np.ndarray) -> QPainterPath:
    if len(x) == 0:
        return QPainterPath()
    return pg.arrayToQPath(x, y, connect=connect)


def _path_item(pen: QPen | None, brush: QBrush | None, z: float) -> QGraphicsPathItem:
    item = QGraphicsPathItem()
    item.setPen(pen if pen is not None else QPen(Qt.PenStyle.NoPen))
    item.setBrush(brush if brush is not None else QBrush(Qt.BrushStyle.NoBrush))
    item.setZValue(z)
    return item


def _choose(mask: np.ndarray, yes, no) -> np.ndarray:
    """Per-spot Qt objects (pens, brushes) as an object array; np.where would try to unpack them."""
    out = np.empty(len(mask), dtype=object)
    out[:] = [no] * len(mask)
    out[mask] = [yes] * int(np.count_nonzero(mask))
    return out


def _scatter(z: float) -> pg.ScatterPlotItem:
    item = pg.ScatterPlotItem(pxMode=True, hoverable=False)
    item.setZValue(z)
    return item


class MapLayer:
    key = ""
    title_key = ""
    visible_by_default = True

    def __init__(self) -> None:
        self.items: list[QGraphicsItem] = []
        self.visible = self.visible_by_default

    @property
    def title(self) -> str:
        return tr(self.title_key)

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for item in self.items:
            item.setVisible(visible)

    def set_data(self, data: MapData | None) -> None:
        raise NotImplementedError

    def feature_count(self) -> int:
        return 0

    def legend(self) -> list[LegendEntry]:
        return []

    def view_changed(self, metres_per_pixel: float) -> None:
        """Called when the zoom changes, for layers that thin out when zoomed far out."""


class BoundaryLayer(MapLayer):
    key, title_key = "boundaries", "layer_boundaries"
    LABEL_GAP_PX = 6  # empty space kept between two commune names

    def __init__(self) -> None:
        super().__init__()
        self.land = _path_item(None, QBrush(style.colour(style.LAND)), -30)
        self.communes = _path_item(style.pen(*style.COMMUNE_PEN), None, -20)
        self.province = _path_item(style.pen(*style.PROVINCE_PEN), None, -19)
        self.items = [self.land, self.communes, self.province]
        self.labels: list[pg.TextItem] = []
        self._shown = np.zeros(0, bool)  # which labels fit at the current zoom
        self._label_xy = np.zeros((0, 2))
        self._label_wh = np.zeros((0, 2))
        self._mpp = 0.0
        self._n = 0

    def set_data(self, data: MapData | None) -> None:
        b = data.boundaries if data else None
        self._n = len(b) if b else 0
        province = b.attrs["level"] == "province" if b else np.zeros(0, bool)
        self.land.setPath(_path(*b.subset(province)) if b else QPainterPath())
        self.province.setPath(self.land.path())
        self.communes.setPath(_path(*b.subset(~province)) if b else QPainterPath())
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

    def feature_count(self) -> int:
        return self._n

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


class ZoneLayer(MapLayer):
    key, title_key = "zones", "layer_zones"

    def __init__(self) -> None:
        super().__init__()
        self.by_kind = {c.code: _path_item(style.zone_pen(c.code), style.zone_brush(c.code), -5)
                        for c in domain.ZONE_KINDS}
        self.items = list(self.by_kind.values())
        self._n = 0

    def set_data(self, data: MapData | None) -> None:
        z: PathLayer | None = data.zones if data else None
        self._n = len(z) if z else 0
        for kind, item in self.by_kind.items():
            item.setPath(_path(*z.subset(z.attrs["kind"] == kind)) if z else QPainterPath())

    def feature_count(self) -> int:
        return self._n

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(strings.choice_label(domain.ZONE_KINDS, kind), "fill", item.pen(), item.brush())
                for kind, item in self.by_kind.items()]


class RouteLayer(MapLayer):
    """One path per (method, operator): a path has one pen, and pens carry colour and dash."""

    key, title_key = "routes", "layer_routes"

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[tuple[str, str], QGraphicsPathItem] = {}
        for method, (pen_style, width) in style.ROUTE_STYLES.items():
            for op in style.operators_in_order():
                pen = style.pen(style.operator_colour(op), width, pen_style)
                self.groups[(method, op)] = _path_item(pen, None, 0)
        self.items = list(self.groups.values())
        self._n = 0
        self._operators: list[str] = []

    def set_data(self, data: MapData | None) -> None:
        r = data.routes if data else None
        self._n = len(r) if r else 0
        self._operators = sorted(set(r.attrs["operator"])) if r and self._n else []
        for (method, op), item in self.groups.items():
            if r and self._n:
                item.setPath(_path(*r.subset((r.attrs["method"] == method) & (r.attrs["operator"] == op))))
            else:
                item.setPath(QPainterPath())

    def feature_count(self) -> int:
        return self._n

    def legend(self) -> list[LegendEntry]:
        entries = []
        for op in style.operators_in_order():
            if op in self._operators:
                entries.append(LegendEntry(style.operator_brand(op), "line",
                                           style.pen(style.operator_colour(op), 2.5)))
        for method, (pen_style, _) in style.ROUTE_STYLES.items():
            entries.append(LegendEntry(strings.choice_label(domain.LAYING_METHODS, method), "line",
                                       style.pen("#444444", 1.5, pen_style)))
        return entries


class PoleLayer(MapLayer):
    """Poles crowd into a haze at province scale: drawn only below MAX_MPP metres per pixel."""

    key, title_key = "poles", "layer_poles"
    MAX_MPP = 40.0

    def __init__(self) -> None:
        super().__init__()
        self.scatter = _scatter(5)
        self.items = [self.scatter]
        self._in_scale = True
        self._plain = pg.mkBrush(style.POLE_COLOUR)
        self._shared = pg.mkBrush(style.POLE_SHARED_COLOUR)

    def set_data(self, data: MapData | None) -> None:
        p = data.poles if data else None
        if not p or not len(p):
            self.scatter.setData(x=[], y=[])
            return
        shared = p.attrs["shared"]
        # Shared poles drawn last, so they stay visible where poles crowd.
        order = np.argsort(shared, kind="stable")
        brushes = _choose(shared, self._shared, self._plain)[order]
        sizes = np.where(shared, 5, 3)[order]
        self.scatter.setData(x=p.x[order], y=p.y[order], brush=brushes, size=sizes,
                             pen=pg.mkPen(None), symbol="o")

    def feature_count(self) -> int:
        return len(self.scatter.data)

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        self.scatter.setVisible(visible and self._in_scale)

    def view_changed(self, metres_per_pixel: float) -> None:
        self._in_scale = metres_per_pixel <= self.MAX_MPP
        self.set_visible(self.visible)

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_zoom_in_to_see"), "note"),
                LegendEntry(tr("legend_pole"), "symbol", None, self._plain, "o"),
                LegendEntry(tr("legend_pole_shared"), "symbol", None, self._shared, "o")]


class VillageLayer(MapLayer):
    key, title_key = "villages", "layer_villages"
    visible_by_default = False  # 1,100 dots at province scale hide the sites; on when zoomed in

    def __init__(self) -> None:
        super().__init__()
        self.scatter = _scatter(3)
        self.items = [self.scatter]
        self._pen = style.pen(style.VILLAGE_COLOUR, 1.2)

    def set_data(self, data: MapData | None) -> None:
        v = data.villages if data else None
        if not v or not len(v):
            self.scatter.setData(x=[], y=[])
            return
        self.scatter.setData(x=v.x, y=v.y, symbol="o", size=6, pen=self._pen,
                             brush=pg.mkBrush("#ffffffc0"))

    def feature_count(self) -> int:
        return len(self.scatter.data)

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_village"), "symbol", self._pen, pg.mkBrush("#ffffff"), "o")]


class SiteLayer(MapLayer):
    """Colour = operator, symbol = tower type, black outline = shared, purple ring = 5G."""

    key, title_key = "sites", "layer_sites"
    FAR_MPP = 60.0  # zoomed out beyond this, symbols shrink so a province's sites do not merge

    def __init__(self) -> None:
        super().__init__()
        self._far = False
        self.rings = _scatter(9)  # under the sites: the 5G ring shows around the symbol
        self.scatter = _scatter(10)
        self.items = [self.rings, self.scatter]
        self._ring_pen = style.pen(style.SITE_5G_COLOUR, 2.2)
        self._shared_pen = style.pen(*style.SITE_SHARED_PEN)
        self._shared_pen_far = style.pen(style.SITE_SHARED_PEN[0], 1.0)
        self._plain_pen = style.pen(*style.SITE_PLAIN_PEN)
        self._operators: list[str] = []
        self._towers: list[str] = []

    def set_data(self, data: MapData | None) -> None:
        s = data.sites if data else None
        if not s or not len(s):
            self.scatter.setData(x=[], y=[])
            self.rings.setData(x=[], y=[])
            self._operators, self._towers = [], []
            return
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
        brush = [brushes.get((op, st), brushes[(op, "operating")]) for op, st in zip(a["operator"], a["status"])]
        symbol = [style.TOWER_SYMBOLS.get(t, "o") for t in a["tower_type"]]
        # Shared sites last, so their outline is not hidden under a neighbour.
        order = np.argsort(a["shared"], kind="stable")
        self._shared_sorted = a["shared"][order]
        self.scatter.setData(x=s.x[order], y=s.y[order], brush=np.asarray(brush, dtype=object)[order],
                             symbol=np.asarray(symbol, dtype=object)[order])
        g5 = a["has_5g"]
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
        self.scatter.setPen(_choose(self._shared_sorted, shared_pen, self._plain_pen))
        self.rings.setSize(size + (6 if self._far else 9))

    def feature_count(self) -> int:
        return len(self.scatter.data)

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


class FindingLayer(MapLayer):
    key, title_key = "findings", "layer_findings"

    def __init__(self) -> None:
        super().__init__()
        self.scatter = _scatter(20)
        self.items = [self.scatter]
        self._symbol = style.flag_symbol()
        self._pen = style.pen("#7a0000", 1.0)
        self._brush = pg.mkBrush(style.FINDING_COLOUR)

    def set_data(self, data: MapData | None) -> None:
        f = data.findings if data else None
        if not f or not len(f):
            self.scatter.setData(x=[], y=[])
            return
        self.scatter.setData(x=f.x, y=f.y, symbol=self._symbol, size=18, pen=self._pen, brush=self._brush)

    def feature_count(self) -> int:
        return len(self.scatter.data)

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_finding"), "symbol", self._pen, self._brush, self._symbol)]


def all_layers() -> list[MapLayer]:
    """Drawing order bottom to top is given by z values; this is the panel's order, top first."""
    return [FindingLayer(), SiteLayer(), PoleLayer(), VillageLayer(), RouteLayer(), ZoneLayer(),
            BoundaryLayer()]
