"""Fibre routes: colour by operator, dash by laying method."""

from __future__ import annotations

import numpy as np

from hatang_desktop.core.map_data import MapData

from ...record_text import value_label
from .. import style
from .base import LayerFilter, LegendEntry, MapLayer, TiledPathItem


class RouteLayer(MapLayer):
    """One path per (method, operator): a path has one pen, and pens carry colour and dash."""

    key, title_key, table = "routes", "", "fibre_routes"
    fields = ("routes",)
    filterable = True

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[tuple[str, str], TiledPathItem] = {}
        for method, (pen_style, width) in style.ROUTE_STYLES.items():
            for op in style.operators_in_order():
                pen = style.pen(style.operator_colour(op), width, pen_style)
                self.groups[(method, op)] = TiledPathItem(pen, 0)
        self.items = list(self.groups.values())
        self._operators: list[str] = []

    def set_data(self, data: MapData | None) -> None:
        for _ in self.set_data_steps(data):
            pass

    def set_data_steps(self, data: MapData | None):
        r = data.routes if data else None
        self.data = r if r and len(r) else None
        self._operators = sorted(set(r.attrs["operator"])) if self.data else []
        yield from self._redraw_steps()

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
            for item in self.groups.values():
                item.set_layer(None)
            yield
            return
        # Routes carry no technology: only the operator part of the filter applies.
        self.shown = self.filter.operator_mask(r.attrs["op_bits"])
        methods, operators = r.attrs["method"], r.attrs["operator"]
        for (method, op), item in self.groups.items():
            mask = self.shown & (methods == method) & (operators == op)
            item.set_layer(r, mask)
            if mask.any():
                yield

    def patch_items(self, new, drop: np.ndarray, add) -> bool:
        """Only the (method, operator) groups holding a changed route cut their tiles again;
        the others keep theirs and learn the routes' new indices."""
        old = self.data
        touched = set(zip(old.attrs["method"][drop], old.attrs["operator"][drop])) | \
            set(zip(add.attrs["method"], add.attrs["operator"]))
        self.data = new
        self._operators = sorted(set(self._operators) | set(add.attrs["operator"]))
        self.shown = self.filter.operator_mask(new.attrs["op_bits"])
        methods, operators = new.attrs["method"], new.attrs["operator"]
        for (method, op), item in self.groups.items():
            mask = self.shown & (methods == method) & (operators == op)
            if (method, op) in touched:
                item.set_layer(new, mask)
            else:
                item.rebase(new, mask)
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
