"""Unresolved findings, by severity (colour and shape): grouped per screen cell with a count when
zoomed out, one symbol each when zoomed in (FLAGS_MPP).

A violation is a red flag, a warning an orange triangle, an info a small grey-blue disc; a group
takes the colour of its most serious finding. At province scale seven thousand flags were a red
carpet over the map; groups say where and how bad, and a click on one zooms in to it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData

from ...record_text import value_label
from ...strings import tr
from .. import style
from ..clusters import ClusterItem
from ..points import PointCloudItem, PointStyle
from .base import LegendEntry, MapLayer, patch_cloud

SEVERITY_ORDER = ("info", "warning", "violation")  # rank: a higher one is drawn on top and colours a group


def ranks(severity: np.ndarray) -> np.ndarray:
    """Each finding's rank in SEVERITY_ORDER (an unknown severity ranks as info)."""
    out = np.zeros(len(severity), np.int32)
    for k, code in enumerate(SEVERITY_ORDER):
        out[severity == code] = k
    return out


class FindingLayer(MapLayer):
    key, title_key, table = "findings", "layer_findings", "findings"
    fields = ("findings",)
    # Zoomed in closer than this (about 1:38,000), every finding is drawn; farther out, groups.
    FLAGS_MPP = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.flags = PointCloudItem(20)
        self.groups = ClusterItem(31)  # over the commune names (30): a count under a name plate is unreadable
        self.items = [self.flags, self.groups]
        self.grouped = True  # the scale: groups (zoomed out) or flags
        self._looks: list[tuple[object, float, object, object]] = []
        styles = []
        for severity in SEVERITY_ORDER:
            symbol, size, outline = style.FINDING_SYMBOLS[severity]
            pen = style.pen(outline, 1.0)
            brush = pg.mkBrush(style.SEVERITY_COLOURS[severity])
            styles.append(PointStyle(symbol, size, pen, brush))
            self._looks.append((symbol, size, pen, brush))
        self.flags.set_styles(styles)
        self.groups.set_looks([style.colour(style.SEVERITY_COLOURS[s]) for s in SEVERITY_ORDER], styles)
        self.rank = np.zeros(0, np.int32)

    def set_data(self, data: MapData | None) -> None:
        f = data.findings if data else None
        self.data = f if f and len(f) else None
        self.shown = np.ones(len(self.data) if self.data else 0, bool)
        if self.data is None:
            self.rank = np.zeros(0, np.int32)
            self.flags.set_points(np.zeros(0), np.zeros(0))
            self.groups.set_points(np.zeros(0), np.zeros(0), np.zeros(0, np.int32))
            return
        self.rank = ranks(f.attrs["severity"])
        self.flags.set_points(f.x, f.y, self.rank, self.rank)
        self.groups.set_points(f.x, f.y, self.rank)

    def patch_items(self, new, change, add) -> bool:
        """An edit (a status changed, a finding added): the flags patched in place; the groups
        take the new points, sorted when they are next drawn (not at all while zoomed in)."""
        plan = self.point_item_patch(self.shown, change, np.ones(len(add), bool))
        add_rank = ranks(add.attrs["severity"])
        patch_cloud(self.flags, plan, add, add_rank, add_rank)
        self.data, self.shown = new, np.ones(len(new), bool)
        self.rank = ranks(new.attrs["severity"])
        self.groups.set_points(new.x, new.y, self.rank, lazy=True)
        return True

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        self.flags.setVisible(visible and not self.grouped)
        self.groups.setVisible(visible and self.grouped)

    def view_changed(self, metres_per_pixel: float) -> None:
        grouped = bool(metres_per_pixel > self.FLAGS_MPP)
        if grouped != self.grouped:
            self.grouped = grouped
            self.set_visible(self.visible)

    def group_at(self, x: float, y: float, metres_per_pixel: float):
        """The group of findings drawn at map position (x, y): (x, y, count), or None (flags
        shown, the layer off, or no group there)."""
        if not (self.visible and self.grouped):
            return None
        return self.groups.group_at(x, y, metres_per_pixel)

    def legend(self) -> list[LegendEntry]:
        entries = [LegendEntry(value_label("findings", "severity", code), "symbol", pen, brush, symbol)
                   for code, (symbol, _size, pen, brush) in reversed(list(zip(SEVERITY_ORDER, self._looks)))]
        worst = self._looks[-1]
        entries.append(LegendEntry(tr("legend_finding_group"), "symbol", style.pen("#ffffff", 1.0), worst[3], "o"))
        return entries
