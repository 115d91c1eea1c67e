"""What every map layer shares: the legend entry, the filter, item helpers, the base class.

A layer draws a whole record type with one item (all sites in one scatter, all routes of one
operator and method in one path), because thousands of items make pyqtgraph crawl (PITFALLS).
The canvas only adds the items; the layer alone decides what they show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem, QStyleOptionGraphicsItem

from hatang_desktop.core.map_data import (MapData, PathLayer, lod_level, lod_tolerance, operator_mask,
                                          technology_mask)
from hatang_desktop.core.map_patch import LayerUpdate, drop_mask, patch_paths, patch_points
from hatang_desktop.core.operators import OPERATORS

from ... import turns
from ...record_text import record_label
from ...strings import tr


@dataclass
class LegendEntry:
    """What the layer panel draws as a swatch: a point symbol, a line, or a filled area."""

    label: str
    kind: str  # "symbol" | "line" | "fill" | "note" (text only)
    pen: QPen | None = None
    brush: QBrush | None = None
    symbol: object = "o"
    # The view scales (map units per pixel) at which the map draws this look; a printed page
    # lists only the looks its map shows (the layer panel lists them all).
    from_mpp: float = 0.0
    until_mpp: float = math.inf

    def drawn_at(self, mpp: float) -> bool:
        return self.from_mpp <= mpp < self.until_mpp


@dataclass(frozen=True)
class LayerFilter:
    """Which operators and technologies to show; None means "all"."""

    operators: frozenset[str] | None = None
    technologies: frozenset[str] | None = None

    @property
    def active(self) -> bool:
        return self.operators is not None or self.technologies is not None

    def operator_mask(self, op_bits: np.ndarray) -> np.ndarray:
        if self.operators is None:
            return np.ones(len(op_bits), bool)
        return (op_bits & operator_mask(self.operators)) != 0

    def site_mask(self, op_bits: np.ndarray, tech_bits: np.ndarray) -> np.ndarray:
        """A site passes when one of the chosen operators broadcasts one of the chosen technologies
        there; with every technology allowed, being the owner or a tenant is enough."""
        if self.technologies is None:
            return self.operator_mask(op_bits)
        ops = self.operators if self.operators is not None else [op.code for op in OPERATORS]
        return (tech_bits & technology_mask(ops, self.technologies)) != 0


NO_FILTER = LayerFilter()


def make_path(x: np.ndarray, y: np.ndarray, connect: np.ndarray) -> QPainterPath:
    if len(x) == 0:
        return QPainterPath()
    return pg.arrayToQPath(x, y, connect=connect)


def path_item(pen: QPen | None, brush: QBrush | None, z: float) -> QGraphicsPathItem:
    item = QGraphicsPathItem()
    item.setPen(pen if pen is not None else QPen(Qt.PenStyle.NoPen))
    item.setBrush(brush if brush is not None else QBrush(Qt.BrushStyle.NoBrush))
    item.setZValue(z)
    return item


class Tiles:
    """Paths per grid cell, with their bounds as one array so a paint finds those in view with
    one vectorised test (a Python loop over 5,000 QRectF costs more than the drawing)."""

    def __init__(self, bounds: np.ndarray, paths: list[QPainterPath], arrays: list | None = None) -> None:
        self.bounds = bounds.reshape(-1, 4)  # min_x, min_y, max_x, max_y
        self.paths = paths
        # Each path's (x, y, connect): views of the arrays it was made from, to stroke it in pieces.
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.paths)

    def pieces(self, i: int, limit: int) -> list[QPainterPath] | None:
        """Path `i` as paths of `limit` vertices at most (whole runs each; a longer run alone),
        made from its arrays: a worker stroking the lines into an image draws them piece by
        piece (PySide holds the GIL through a drawPath, and through a toSubpathPolygons of the
        whole path). None when the arrays are not kept."""
        path = self.paths[i]
        if path.elementCount() <= limit:
            return [path]
        if self.arrays is None:
            return None
        x, y, connect = self.arrays[i]
        ends = np.r_[np.flatnonzero(connect[:-1] == 0) + 1, len(x)]  # where a piece may end
        out, at = [], 0
        while at < len(x):
            k = int(np.searchsorted(ends, at + limit, side="right"))
            stop = int(ends[k - 1]) if k and ends[k - 1] > at else int(ends[np.searchsorted(ends, at, side="right")])
            out.append(pg.arrayToQPath(x[at:stop], y[at:stop], connect=connect[at:stop]))
            at = stop
        return out

    def rect(self) -> QRectF:
        if not self.paths:
            return QRectF()
        x0, y0 = self.bounds[:, :2].min(axis=0)
        x1, y1 = self.bounds[:, 2:].max(axis=0)
        return QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))

    def in_view(self, view: QRectF) -> list[QPainterPath]:
        b = self.bounds
        hit = ((b[:, 0] <= view.right()) & (b[:, 2] >= view.left())
               & (b[:, 1] <= view.bottom()) & (b[:, 3] >= view.top()))
        return [self.paths[i] for i in np.flatnonzero(hit)]


NO_TILES = Tiles(np.zeros((0, 4)), [])


class TiledPathItem(QGraphicsObject):
    """ONE item drawing many lines, cut into a grid of paths so a paint strokes only the cells
    in view. A single QPainterPath of a million vertices costs ~600 ms per repaint even when
    zoomed into one town: Qt walks (and clips) every segment.

    Long parts are cut into runs of at most CHUNK vertices, so a province outline that crosses
    the whole view does not drag all its vertices into every paint. Fed a core PathLayer
    (`set_layer`), zoomed out beyond ~32 m per pixel it draws the layer's simplified copy for
    that scale (core.map_data.lod_level): the country's routes at full extent are 77k
    vertices instead of 930k, with under a pixel of difference.
    """

    CHUNK = 64  # vertices per run at most

    def __init__(self, pen: QPen, z: float) -> None:
        super().__init__()
        self.pen = pen
        self.tiles = NO_TILES  # full detail
        self._levels: dict[int, Tiles] = {}
        self._pending: set[int] = set()
        self._generation = 0  # bumped with new data, so a late level build for old data is dropped
        self._source: PathLayer | None = None
        self._mask: np.ndarray | None = None
        self._rect = QRectF()
        # An aggregate (ui/map/aggregate.LinesImageItem) that draws these lines as an image
        # at the country's scales, once its image is ready; this item then skips its paint.
        self.aggregate = None
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def set_layer(self, layer: PathLayer | None, feature_mask: np.ndarray | None = None,
                  tiles: Tiles | None = None) -> None:
        """Draw the features of `layer` where `feature_mask` is true (all without a mask);
        `tiles`: those features' full-detail tiles made already (`tiles_of`, on a worker)."""
        self._source = layer if layer is not None and len(layer) else None
        self._mask = None if self._source is None else (
            np.ones(len(layer), bool) if feature_mask is None else np.asarray(feature_mask, bool))
        if self._source is None:
            self.set_arrays(np.zeros(0), np.zeros(0), np.zeros(0, np.ubyte), keep_source=True)
        elif tiles is not None:
            self.set_arrays(None, None, None, keep_source=True, tiles=tiles)
        else:
            self.set_arrays(*self._source.subset(self._mask), keep_source=True)

    @classmethod
    def tiles_of(cls, layer: PathLayer, feature_mask: np.ndarray) -> Tiles:
        """The full-detail tiles set_layer makes (numpy and QPainterPaths: safe off the GUI thread)."""
        return cls._make_tiles(*layer.subset(feature_mask))

    def set_arrays(self, x: np.ndarray, y: np.ndarray, connect: np.ndarray, keep_source: bool = False,
                   tiles: Tiles | None = None) -> None:
        """Draw these vertices (pg.arrayToQPath form) at every scale, without levels of detail."""
        self.prepareGeometryChange()
        if not keep_source:
            self._source, self._mask = None, None
        self._levels = {}
        self._pending = set()
        self._generation += 1
        self.tiles = tiles if tiles is not None else self._make_tiles(x, y, connect)
        self._rect = self.tiles.rect()
        self.update()

    @classmethod
    def _make_tiles(cls, x, y, connect, min_cell: float = 0.0) -> Tiles:
        """Runs grouped into one path per grid cell. `min_cell` (map units) keeps cells from
        being smaller than needed: a zoomed-out view holds most cells anyway, and every
        drawPath has a fixed cost (5,000 small paths cost ~150 ms; 300 big ones ~40 ms)."""
        if not len(x):
            return NO_TILES
        x, y, connect = cls._chunked(np.asarray(x, float), np.asarray(y, float), np.asarray(connect, np.ubyte))
        ends = np.flatnonzero(connect == 0)
        starts = np.r_[0, ends[:-1] + 1]
        x0, y0 = float(x.min()), float(y.min())
        grid = int(np.clip(math.sqrt(len(starts) / 2), 4, 64))
        span = max(float(x.max()) - x0, float(y.max()) - y0, 1.0)
        cell = max(span / grid, min(min_cell, span))
        grid = int(span // cell) + 1
        # A run belongs to the cell of its first vertex; the cell's rect covers all of it.
        cx = ((x[starts] - x0) // cell).astype(np.int64)
        cy = ((y[starts] - y0) // cell).astype(np.int64)
        part_cell = cx * (grid + 1) + cy
        part_of_vertex = np.repeat(np.arange(len(starts)), ends - starts + 1)
        vertex_cell = part_cell[part_of_vertex]
        order = np.argsort(vertex_cell, kind="stable")
        xs, ys, cs, vc = x[order], y[order], connect[order], vertex_cell[order]
        bounds = np.flatnonzero(np.r_[True, np.diff(vc) != 0, True])
        starts_, ends_ = bounds[:-1], bounds[1:]
        box = np.column_stack([np.minimum.reduceat(xs, starts_), np.minimum.reduceat(ys, starts_),
                               np.maximum.reduceat(xs, starts_), np.maximum.reduceat(ys, starts_)])
        paths = [pg.arrayToQPath(xs[a:b], ys[a:b], connect=cs[a:b]) for a, b in zip(starts_, ends_)]
        return Tiles(box, paths, [(xs[a:b], ys[a:b], cs[a:b]) for a, b in zip(starts_, ends_)])

    @classmethod
    def _chunked(cls, x, y, connect):
        """Cut parts longer than CHUNK vertices into runs sharing their end vertex."""
        ends = np.flatnonzero(connect == 0)
        starts = np.r_[0, ends[:-1] + 1]
        pos = np.arange(len(x)) - np.repeat(starts, ends - starts + 1)
        cut = np.flatnonzero((pos > 0) & (pos % cls.CHUNK == 0) & (connect == 1))
        if not len(cut):
            return x, y, connect
        # A copy of the vertex before it ends the run; the vertex itself starts the next one.
        return (np.insert(x, cut, x[cut]), np.insert(y, cut, y[cut]),
                np.insert(connect, cut, np.zeros(len(cut), np.ubyte)))

    def _tiles_for(self, units_per_px: float) -> Tiles:
        """The tiles for this scale. A level not built yet is built on a later event-loop turn
        (one item per turn: never all 24 route groups inside one paint); meanwhile the nearest
        built level, or full detail, is drawn: slower for a frame, never wrong."""
        level = lod_level(units_per_px) if self._source is not None else None
        if level is None:
            return self.tiles
        tiles = self._levels.get(level)
        if tiles is not None:
            return tiles
        if level not in self._pending:
            self._pending.add(level)
            turns.later(partial(self._build_level, level, self._generation), self)
        if self._levels:
            return self._levels[min(self._levels, key=lambda built: abs(built - level))]
        return self.tiles

    def prepare_view(self, units_per_px: float, dpr: float = 1.0) -> None:
        """Build now the tiles a view of `units_per_px` will draw (the canvas does this for the
        first view after loading, one item per event-loop turn)."""
        level = lod_level(units_per_px) if self._source is not None else None
        if level is not None and level not in self._levels:
            self._build_level(level, self._generation)

    def tiles_at(self, units_per_px: float) -> Tiles:
        """The tiles a view of `units_per_px` draws, its level of detail built now if missing."""
        self.prepare_view(units_per_px)
        level = lod_level(units_per_px) if self._source is not None else None
        return self.tiles if level is None else self._levels.get(level, self.tiles)

    def _build_level(self, level: int, generation: int) -> None:
        self._pending.discard(level)
        if generation != self._generation or self._source is None or level in self._levels:
            return  # new data came meanwhile
        simple = self._source.simplified(lod_tolerance(level))
        # Cells a quarter of a screen wide at this scale: coarse views draw few, big paths.
        self._levels[level] = self._make_tiles(*simple.subset(self._mask), min_cell=2.0 ** level * 300)
        self.update()

    def rebase(self, layer: PathLayer | None, feature_mask: np.ndarray | None) -> None:
        """The same lines, now at other indices of a patched `layer` (core.map_patch): the tiles
        stay, only what later levels of detail are cut from changes."""
        self._source = layer if layer is not None and len(layer) else None
        self._mask = None if self._source is None else np.asarray(feature_mask, bool)

    def is_empty(self) -> bool:
        return not len(self.tiles)

    def boundingRect(self) -> QRectF:
        # Pens are cosmetic (pixels), so no margin in map units is needed beyond a hair.
        return self._rect.adjusted(-1, -1, 1, 1)

    @staticmethod
    def painted_view(painter, option: QStyleOptionGraphicsItem) -> tuple[QRectF, float]:
        """What the device shows, in item coordinates, and the map units per pixel: exposedRect
        alone is the whole item when the scene is rendered to an image (export, benchmarks)."""
        inverse, ok = painter.worldTransform().inverted()
        device = painter.device()
        exposed = option.exposedRect
        if ok and device is not None:
            dpr = device.devicePixelRatioF()
            exposed = exposed.intersected(inverse.mapRect(QRectF(0, 0, device.width() / dpr,
                                                                 device.height() / dpr)))
        return exposed, (math.hypot(inverse.m11(), inverse.m12()) if ok else 0.0)

    def paint(self, painter, option: QStyleOptionGraphicsItem, _widget=None) -> None:
        exposed, units_per_px = self.painted_view(painter, option)
        if self.aggregate is not None and self.aggregate.covers(units_per_px):
            return
        painter.setPen(self.pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for path in self._tiles_for(units_per_px).in_view(exposed):
            painter.drawPath(path)


def patch_cloud(item, plan, add, style: np.ndarray | None = None, priority: np.ndarray | None = None) -> None:
    """PointCloudItem.patch with a plan from MapLayer.point_item_patch, values from `add`'s rows."""
    gone, appended, (at, rows) = plan

    def pick(a, i):
        return None if a is None else a[i]

    item.patch(gone, add.x[appended], add.y[appended], pick(style, appended), pick(priority, appended),
               replaced=(at, add.x[rows], add.y[rows], pick(style, rows), pick(priority, rows)))


# An edit touching more than this share of a layer rebuilds the layer's items instead of patching.
PATCH_SHARE = 20


class MapLayer:
    key = ""
    title_key = ""  # a UI string; none: the layer is its table's records, named by forms/
    table = ""  # the database table behind the layer, for selection and the attribute table
    fields: tuple[str, ...] = ()  # the MapData fields the layer draws (core.map_patch updates them)
    visible_by_default = True
    filterable = False  # by operator (and technology for sites)
    # Labels (feature_labels.py): the attrs column written beside each feature, "" for none;
    # "point" beside a symbol of LABEL_SYMBOL_PX, "line" along the line; only closer than
    # LABEL_MAX_MPP metres per pixel (a province's thousands of codes would be a grey smear).
    label_field = ""
    label_kind = "point"
    LABEL_MAX_MPP = 0.0
    LABEL_SYMBOL_PX = 0.0
    LABEL_PRIORITY = 0  # lower places first where labels compete for room

    def __init__(self) -> None:
        self.items: list[QGraphicsItem] = []
        self.visible = self.visible_by_default
        self.labels_visible = True  # the layer panel's "Nhãn" row
        self.data = None  # the core PointLayer / PathLayer
        self.loading = False  # its features are still being read (shown once they arrive)
        self.filter = NO_FILTER
        self.shown = np.zeros(0, bool)  # per feature: passes the filter
        self._uuid_order = None  # (data, argsort of its uuids) for index_of

    @property
    def title(self) -> str:
        return tr(self.title_key) if self.title_key else record_label(self.table, plural=True)

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for item in self.items:
            item.setVisible(visible)

    def set_data(self, data: MapData | None) -> None:
        raise NotImplementedError

    def set_data_steps(self, data: MapData | None):
        """set_data as a generator that yields between pieces of work, so the canvas can build
        a national layer over several event-loop turns (none blocking the GUI for long)."""
        self.set_data(data)
        yield

    def is_drawn(self) -> bool:
        """Visible and within its scale range: what a click may identify."""
        return self.visible

    def apply_update(self, update: LayerUpdate) -> None:
        """Bring the layer up to date after an edit (core.map_patch): points are written over
        their rows in place, removed or appended; lines and areas drop their old rows and
        append the new. The items follow (`patch_items`), or are rebuilt from the data when the
        edit touches much of the layer or a layer cannot patch."""
        old = self.data
        if isinstance(update.add, PathLayer):
            drop = drop_mask(old.uuid, update.uuids) if old is not None else np.zeros(0, bool)
            change = patch_paths(old, drop, update.add)
            new = change.layer
            size = int(drop.sum()) + len(update.add)
        else:
            change = patch_points(old, update.uuids, update.add)
            new = change.layer
            size = int(change.gone.sum()) + len(change.replaced) + len(change.appended)
        small = old is not None and size <= max(50, len(old) // PATCH_SHARE)
        if not small or not self.patch_items(new, change, update.add):
            self.set_data(SimpleNamespace(**{self.fields[0]: new}))
        self.set_visible(self.visible)

    def reload(self, layers: dict) -> None:
        """Show these MapData fields read again whole (admin units after a boundary import)."""
        if set(self.fields) <= set(layers):
            self.set_data(SimpleNamespace(**layers))
            self.set_visible(self.visible)

    def patch_items(self, new, change, add) -> bool:
        """Patch the items in place for the change (a core.map_patch.PointPatch for points, a
        PathPatch for lines and areas, with `add` the records read again) and take the new data; False,
        having changed nothing, to have the layer rebuilt from the new data."""
        return False

    @staticmethod
    def point_item_patch(in_item: np.ndarray, change, add_in_item: np.ndarray):
        """PointCloudItem.patch's arguments (gone, appended rows, (replaced positions, their
        rows)) for an item fed the features `in_item` marks, in order; None when a replaced
        feature enters or leaves the item (its place in the order would change)."""
        r, rows = change.replaced, change.replaced_rows
        if (in_item[r] != add_in_item[rows]).any():
            return None
        position = np.cumsum(in_item) - 1
        stays = in_item[r]
        appended = change.appended[add_in_item[change.appended]]
        return position[change.gone & in_item], appended, (position[r[stays]], rows[stays])

    def index_of(self, uuid: str) -> int | None:
        """The index of a feature in `data` by uuid (binary search on a sorted order kept per
        data set: no dict of 500k strings), or None."""
        if self.data is None or not len(self.data):
            return None
        if self._uuid_order is None or self._uuid_order[0] is not self.data:
            self._uuid_order = (self.data, np.argsort(self.data.uuid))
        order = self._uuid_order[1]
        i = int(np.searchsorted(self.data.uuid, uuid, sorter=order))
        if i < len(order) and self.data.uuid[order[i]] == uuid:
            return int(order[i])
        return None

    def set_filter(self, layer_filter: LayerFilter) -> None:
        """Feed the same items with the features that pass (filterable layers override)."""
        self.filter = layer_filter

    def feature_count(self) -> int:
        """Features drawn (after the filter)."""
        return int(np.count_nonzero(self.shown))

    def total_count(self) -> int:
        return len(self.data) if self.data is not None else 0

    def legend(self) -> list[LegendEntry]:
        return []

    def view_changed(self, metres_per_pixel: float) -> None:
        """Called when the zoom changes, for layers that thin out when zoomed far out."""
