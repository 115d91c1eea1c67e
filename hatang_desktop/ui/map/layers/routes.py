"""Fibre routes: colour by operator, dash by laying method."""

from __future__ import annotations

import numpy as np

from hatang_desktop.core.map_data import MapData

from ...record_text import value_label
from .. import style
from ..aggregate import LinesImageItem
from .base import LayerFilter, LegendEntry, MapLayer, TiledPathItem


class RouteLayer(MapLayer):
    """One path per (method, operator): a path has one pen, and pens carry colour and dash."""

    key, title_key, table = "routes", "", "fibre_routes"
    fields = ("routes",)
    filterable = True
    LABEL_PRIORITY = 1
    label_field, label_kind, LABEL_MAX_MPP = "code", "line", 3.0

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[tuple[str, str], TiledPathItem] = {}
        for method, op in self.group_keys():
            pen_style, width = style.ROUTE_STYLES[method]
            self.groups[(method, op)] = TiledPathItem(style.pen(style.operator_colour(op), width, pen_style), 0)
        # The whole country: every group's lines as one image (ui/map/aggregate.py).
        self.raster = LinesImageItem(list(self.groups.values()), 0)
        self.items = [*self.groups.values(), self.raster]
        self._operators: list[str] = []
        self._group = np.zeros(0, np.int64)  # per route: its index in `groups` (-1: drawn by none)

    def set_data(self, data: MapData | None) -> None:
        for _ in self.set_data_steps(data):
            pass

    def set_data_steps(self, data: MapData | None):
        r = data.routes if data else None
        self.data = r if r and len(r) else None
        self._operators = sorted(set(r.attrs["operator"])) if self.data else []
        ready = (getattr(data, "prepared", None) or {}).pop(self.key, None)
        if ready is not None and ready["data"] is self.data and not self.filter.active:
            # The worker cut every group into tiles: one cheap step per group.
            self.shown = np.ones(len(self.data), bool)
            self._group = ready["group"]
            for item, tiles, mask in zip(self.groups.values(), ready["tiles"], ready["masks"]):
                item.set_layer(self.data, mask, tiles)
            self.raster.sources_changed()
            yield
            return
        yield from self._redraw_steps()

    @classmethod
    def prepare(cls, data: MapData) -> dict | None:
        """Every (method, operator) group's tiles, unfiltered, on the loading worker: cutting the
        country's 930k vertices into tiles took the GUI thread ~150-600 ms per step."""
        r = data.routes
        if r is None or not len(r):
            return None
        keys = cls.group_keys()
        group = cls.groups_of(r.attrs, keys)
        tiles, masks = [], []
        for k in range(len(keys)):
            mask = group == k
            masks.append(mask)
            tiles.append(TiledPathItem.tiles_of(r, mask))
        return {"data": r, "group": group, "tiles": tiles, "masks": masks}

    def set_filter(self, layer_filter: LayerFilter) -> None:
        super().set_filter(layer_filter)
        self._redraw()

    def _redraw(self) -> None:
        for _ in self._redraw_steps():
            pass

    def _redraw_steps(self):
        """One group per step: a national group takes ~25 ms to cut into tiles."""
        r = self.data
        if r is None:
            self.shown = np.zeros(0, bool)
            self._group = np.zeros(0, np.int64)
            for item in self.groups.values():
                item.set_layer(None)
            self.raster.sources_changed()
            yield
            return
        # Routes carry no technology: only the operator part of the filter applies.
        self.shown = self.filter.operator_mask(r.attrs["op_bits"])
        self._group = self.group_of(r.attrs)
        for k, item in enumerate(self.groups.values()):
            mask = self.shown & (self._group == k)
            item.set_layer(r, mask)
            if mask.any():
                yield
        self.raster.sources_changed()

    @staticmethod
    def group_keys() -> list[tuple[str, str]]:
        """The (method, operator) groups, in the order of `groups`."""
        return [(method, op) for method in style.ROUTE_STYLES for op in style.operators_in_order()]

    def group_of(self, attrs: dict) -> np.ndarray:
        """Per feature, the index of its (method, operator) group in `groups` (-1: none), as
        ints: comparing 30k strings for each of 24 groups costs ~35 ms an edit."""
        return self.groups_of(attrs, list(self.groups))

    @staticmethod
    def groups_of(attrs: dict, group_keys: list) -> np.ndarray:
        methods, m_index = np.unique(attrs["method"], return_inverse=True)
        operators, o_index = np.unique(attrs["operator"], return_inverse=True)
        keys = {key: k for k, key in enumerate(group_keys)}
        table = np.array([[keys.get((str(m), str(o)), -1) for o in operators] for m in methods],
                         dtype=np.int64).reshape(len(methods), len(operators))
        return table[m_index.reshape(-1), o_index.reshape(-1)] if len(m_index) else np.zeros(0, np.int64)

    def patch_items(self, new, change, add) -> bool:
        """Only the (method, operator) groups holding a changed route cut their tiles again;
        the others keep theirs (and learn the routes' new indices when some came or went)."""
        before = self.group_of(change.before) if len(change.rows) else np.zeros(0, np.int64)
        after = self.group_of(add.attrs)
        touched = set(before.tolist()) | set(after.tolist())
        self._operators = sorted(set(self._operators) | set(add.attrs["operator"]))
        if change.same_rows:
            rows = change.rows
            order = {str(u): j for j, u in enumerate(add.uuid)}
            self._group[rows] = after[[order[str(u)] for u in new.uuid[rows]]]
            self.shown[rows] = self.filter.operator_mask(new.attrs["op_bits"][rows])
        else:
            keep = np.ones(len(self._group), bool)
            keep[change.rows] = False
            self._group = np.concatenate([self._group[keep], after])
            self.shown = self.filter.operator_mask(new.attrs["op_bits"])
        self.data = new
        for k, item in enumerate(self.groups.values()):
            if k in touched:
                item.set_layer(new, self.shown & (self._group == k))
            elif not change.same_rows:
                item.rebase(new, self.shown & (self._group == k))
            elif item._source is not None:
                item.rebase(new, item._mask)  # the same rows: only the arrays may be new
        if touched:
            self.raster.sources_changed()
        return True

    def legend(self) -> list[LegendEntry]:
        entries = []
        for op in style.operators_in_order():
            if op in self._operators:
                entries.append(LegendEntry(style.operator_brand(op), "line",
                                           style.pen(style.operator_colour(op), 2.5)))
        for method, (pen_style, _) in style.ROUTE_STYLES.items():
            entries.append(LegendEntry(value_label("fibre_routes", "method", method), "line",
                                       style.pen("#444444", 1.5, pen_style)))
        return entries
