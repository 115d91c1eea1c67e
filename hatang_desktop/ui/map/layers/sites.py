"""BTS sites: colour = operator, symbol = tower type, black outline = shared, purple ring = 5G;
a site to verify (an imported reference point) is a ring with a question mark."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from hatang_desktop.core.map_data import MapData
from hatang_desktop.core.operators import UNKNOWN

from ...record_text import value_label
from ...strings import tr
from .. import style
from ..aggregate import AGGREGATE_MPP, DensityItem, density_brush
from ..points import PointCloudItem, PointStyle, prepare_points
from .base import LayerFilter, LegendEntry, MapLayer, patch_cloud

STATUS_KINDS = ("operating", "planned", "dismantled", "to_verify")  # anything else draws as operating
VERIFY = "verify"  # the symbol of a site to verify, whatever its tower type (style.verify_symbol)


class SiteLayer(MapLayer):
    key, title_key, table = "sites", "", "sites"
    fields = ("sites",)
    filterable = True
    label_field, LABEL_MAX_MPP, LABEL_SYMBOL_PX = "code", 3.0, style.SITE_SIZE
    FAR_MPP = 60.0  # zoomed out beyond this, symbols shrink so a province's sites do not merge
    # Beyond this (several provinces on screen) sites are small dots in their operator's colour,
    # no outlines or 5G rings: 120k full symbols merge into a carpet, dots still show density.
    DOTS_MPP = 400.0

    def __init__(self) -> None:
        super().__init__()
        self._far = False
        self._dots = False
        self.rings = PointCloudItem(9)  # under the sites: the 5G ring shows around the symbol
        self.scatter = PointCloudItem(10)
        # The whole country: sites counted per cell instead of 120k dots (ui/map/aggregate.py).
        self.density = DensityItem(10)
        self.scatter.aggregated_above = AGGREGATE_MPP
        self.items = [self.rings, self.scatter, self.density]
        self._ring_pen = style.pen(style.SITE_5G_COLOUR, 2.2)
        self._shared_pen = style.pen(*style.SITE_SHARED_PEN)
        self._shared_pen_far = style.pen(style.SITE_SHARED_PEN[0], 1.0)
        self._plain_pen = style.pen(*style.SITE_PLAIN_PEN)
        self._operators: list[str] = []
        self._towers: list[str] = []
        # Per site: which (operator, status, tower symbol, shared) look it has, as an index
        # into _looks; the item's atlas holds one pre-rendered symbol per look.
        self._look = np.zeros(0, np.int32)
        self._looks: list[tuple[str, str, object, bool]] = []
        self._verify_symbol = style.verify_symbol()
        self._verify_pen = style.pen(*style.SITE_TO_VERIFY_PEN)
        self._verify_inside = pg.mkBrush(style.SITE_TO_VERIFY_INSIDE)
        self.to_verify = 0  # how many sites to verify the data holds (the legend shows them then)

    def set_data(self, data: MapData | None) -> None:
        for _ in self.set_data_steps(data):
            pass

    def set_data_steps(self, data: MapData | None):
        """Looks, then items: two steps of ~100 ms each for the country's 120k sites, unless the
        loading worker did both already (`prepare`)."""
        s = data.sites if data else None
        self.data = s if s and len(s) else None
        ready = (getattr(data, "prepared", None) or {}).pop(self.key, None)
        if ready is not None and ready["data"] is not self.data:
            ready = None
        if self.data is None:
            self._operators, self._towers, self._looks = [], [], []
            self._look = np.zeros(0, np.int32)
            self.to_verify = 0
        else:
            looks = ready["looks"] if ready is not None else self.looks_of(s)
            self._operators, self._towers, self._looks, self._look, self.to_verify = looks
        yield
        self._apply_scale()
        self._redraw(ready)
        yield

    @classmethod
    def prepare(cls, data: MapData) -> dict | None:
        """The looks and the unfiltered items' grids, on the loading worker (plain numpy)."""
        s = data.sites
        if s is None or not len(s):
            return None
        looks = cls.looks_of(s)
        look, shared, g5 = looks[3], s.attrs["shared"].astype(np.int32), s.attrs["has_5g"]
        return {"data": s, "looks": looks, "cloud": prepare_points(s.x, s.y, look, shared),
                "rings": prepare_points(s.x[g5], s.y[g5])}

    @staticmethod
    def looks_of(s) -> tuple:
        """(operators, tower types, looks, each site's look index, how many to verify)."""
        a = s.attrs
        operators = sorted(set(a["operator"]))
        towers = sorted(set(a["tower_type"]) - {""})
        # Few distinct values: one comparison per value beats np.unique's string sort 10x.
        op_i = np.zeros(len(s), np.int64)
        for k, op in enumerate(operators):
            op_i[a["operator"] == op] = k
        status_i = np.zeros(len(s), np.int64)
        for k, kind in enumerate(STATUS_KINDS):
            status_i[a["status"] == kind] = k
        symbols = sorted(set(style.TOWER_SYMBOLS.values())) + [VERIFY]
        sym_i = np.full(len(s), symbols.index("o"), np.int64)
        for tower in towers:
            sym_i[a["tower_type"] == tower] = symbols.index(style.TOWER_SYMBOLS.get(tower, "o"))
        verify = a["status"] == "to_verify"
        sym_i[verify] = symbols.index(VERIFY)
        code = ((op_i * len(STATUS_KINDS) + status_i) * len(symbols) + sym_i) * 2 + a["shared"]
        codes, look = np.unique(code, return_inverse=True)
        looks = []
        for c in codes:
            c, shared = divmod(int(c), 2)
            c, sym = divmod(c, len(symbols))
            op, status = divmod(c, len(STATUS_KINDS))
            looks.append((str(operators[op]), STATUS_KINDS[status], symbols[sym], bool(shared)))
        return operators, towers, looks, look.astype(np.int32).reshape(-1), int(verify.sum())

    def _look_of(self, operator: str, status: str, tower: str, shared: bool) -> tuple[str, str, object, bool]:
        """A site's look as set_data_steps computes it for all at once."""
        symbol = VERIFY if status == "to_verify" else style.TOWER_SYMBOLS.get(tower, "o") if tower else "o"
        return str(operator), status if status in STATUS_KINDS else STATUS_KINDS[0], symbol, bool(shared)

    def patch_items(self, new, change, add) -> bool:
        """The changed sites' looks (a new operator or tower type adds one to the atlas), then
        the symbols and 5G rings patched in their items."""
        a = add.attrs
        shown = self.filter.site_mask(a["op_bits"], a["tech_bits"])
        plan = self.point_item_patch(self.shown, change, shown)
        if plan is None:
            return False  # a filtered map whose edit moves a site in or out of the filter
        known = {look: i for i, look in enumerate(self._looks)}
        had = len(self._looks)
        looks = []
        for op, status, tower, shared in zip(a["operator"], a["status"], a["tower_type"], a["shared"]):
            look = self._look_of(op, status, tower, shared)
            if look not in known:
                known[look] = len(self._looks)
                self._looks.append(look)
            looks.append(known[look])
        look = np.asarray(looks, np.int32)
        patch_cloud(self.scatter, plan, add, look, a["shared"].astype(np.int32))
        # The old rows' 5G as it was (the replaced rows were written over in place).
        r, rows, gone = change.replaced, change.replaced_rows, change.gone
        had_5g = self._old(self.data.attrs["has_5g"], r, change.before.get("has_5g", np.zeros(0, bool)))
        ring_plan = self.point_item_patch(self.shown & had_5g, change, shown & a["has_5g"])
        verify = a["status"] == "to_verify"
        self.to_verify += int(verify[rows].sum() + verify[change.appended].sum()) - int(
            (change.before.get("status", np.zeros(0)) == "to_verify").sum()
            + (self.data.attrs["status"][gone] == "to_verify").sum())
        self._operators = sorted(set(self._operators) | set(a["operator"]))
        self._towers = sorted(set(self._towers) | (set(a["tower_type"]) - {""}))
        self._look[r] = look[rows]
        self._look = np.concatenate([self._look[~gone], look[change.appended]])
        self.shown = np.concatenate([self.shown[~gone], shown[change.appended]])
        self.data = new
        self._feed_density()
        if ring_plan is not None:
            patch_cloud(self.rings, ring_plan, add)
        else:  # a site gained or lost its 5G: its ring's place in the order changes
            idx = np.flatnonzero(self.shown)
            g5 = idx[new.attrs["has_5g"][idx]]
            self.rings.set_points(new.x[g5], new.y[g5])
        if len(self._looks) > had:
            self._apply_scale()
        return True

    @staticmethod
    def _old(values: np.ndarray, at: np.ndarray, before: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[at] = before
        return out

    def set_filter(self, layer_filter: LayerFilter) -> None:
        super().set_filter(layer_filter)
        self._redraw()

    def _redraw(self, ready: dict | None = None) -> None:
        s = self.data
        if s is None:
            self.shown = np.zeros(0, bool)
            self.scatter.set_points(np.zeros(0), np.zeros(0))
            self.rings.set_points(np.zeros(0), np.zeros(0))
            self._feed_density()
            return
        a = s.attrs
        if ready is not None and not self.filter.active:  # the worker's grids: every site shown
            self.shown = np.ones(len(s), bool)
            self.scatter.set_prepared(ready["cloud"])
            self.rings.set_prepared(ready["rings"])
            self._feed_density()
            return
        self.shown = self.filter.site_mask(a["op_bits"], a["tech_bits"])
        idx = np.flatnonzero(self.shown)
        # Shared sites on top, so their outline is not hidden under a neighbour.
        self.scatter.set_points(s.x[idx], s.y[idx], self._look[idx], a["shared"][idx].astype(np.int32))
        g5 = idx[a["has_5g"][idx]]
        self.rings.set_points(s.x[g5], s.y[g5])
        self._feed_density()

    def _feed_density(self) -> None:
        """The sites shown, each in its operator's group, to the national density (counted
        when a view that far out is drawn)."""
        s = self.data
        if s is None:
            self.density.set_points(np.zeros(0), np.zeros(0), np.zeros(0, np.int64), [])
            return
        idx = np.flatnonzero(self.shown)
        ops = self._operators
        look_op = np.array([ops.index(op) if op in ops else 0 for op, *_ in self._looks] or [0], np.int64)
        self.density.set_points(s.x[idx], s.y[idx], look_op[self._look[idx]],
                                [style.colour(style.operator_colour(op)) for op in ops])

    def view_changed(self, metres_per_pixel: float) -> None:
        far, dots = metres_per_pixel > self.FAR_MPP, metres_per_pixel > self.DOTS_MPP
        if (far, dots) != (self._far, self._dots):
            self._far, self._dots = far, dots
            self._apply_scale()
            self.set_visible(self.visible)

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        self.scatter.setVisible(visible)
        self.density.setVisible(visible)
        self.rings.setVisible(visible and not self._dots)

    def _brush(self, op: str, status: str):
        if status == "to_verify":
            return pg.mkBrush(style.colour(style.operator_colour(op)).darker(115))
        if status == "dismantled":
            return pg.mkBrush(style.SITE_INACTIVE_COLOUR)
        c = style.colour(style.operator_colour(op))
        if status == "planned":
            c.setAlpha(90)
        return pg.mkBrush(c)

    def _apply_scale(self) -> None:
        if self._dots:
            none = pg.mkPen(None)
            self.scatter.set_styles([PointStyle("o", style.SITE_SIZE_DOT, none, self._brush(op, status))
                                     for op, status, _sym, _shared in self._looks])
            return
        size = style.SITE_SIZE_FAR if self._far else style.SITE_SIZE
        shared_pen = self._shared_pen_far if self._far else self._shared_pen
        self.scatter.set_styles([PointStyle(self._verify_symbol, size + style.SITE_TO_VERIFY_EXTRA, self._verify_pen,
                                            self._brush(op, status), self._verify_inside) if sym == VERIFY else
                                 PointStyle(sym, size, shared_pen if shared else self._plain_pen,
                                            self._brush(op, status))
                                 for op, status, sym, shared in self._looks])
        self.rings.set_styles([PointStyle("o", size + (6 if self._far else 9), self._ring_pen, pg.mkBrush(None))])

    def legend(self) -> list[LegendEntry]:
        entries = [LegendEntry(style.operator_brand(op), "symbol", self._plain_pen,
                               pg.mkBrush(style.operator_colour(op)), "o") for op in self._operators]
        grey = pg.mkBrush("#8c8c8c")
        entries += [LegendEntry(value_label("sites", "tower_type", t), "symbol", self._plain_pen, grey,
                                style.TOWER_SYMBOLS[t]) for t in self._towers]
        entries += [
            LegendEntry(tr("legend_site_shared"), "symbol", self._shared_pen, pg.mkBrush("#ffffff"), "o"),
            LegendEntry(tr("legend_site_5g"), "symbol", self._ring_pen, pg.mkBrush(None), "o"),
            LegendEntry(tr("legend_site_inactive"), "symbol", self._plain_pen,
                        pg.mkBrush(style.SITE_INACTIVE_COLOUR), "o"),
        ]
        if self.to_verify:
            entries.append(LegendEntry(tr("legend_site_to_verify"), "symbol", self._verify_pen,
                                       self._brush(UNKNOWN, "to_verify"), self._verify_symbol))
        for entry in entries:  # zoomed out to several provinces the sites are a density instead
            entry.until_mpp = AGGREGATE_MPP
        entries.append(LegendEntry(tr("legend_site_density"), "fill", pg.mkPen(None), density_brush(),
                                   from_mpp=AGGREGATE_MPP))
        return entries
