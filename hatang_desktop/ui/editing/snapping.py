"""Snapping while drawing a route or dragging a point or a vertex: the pointer jumps to the pole,
site or route vertex drawn within TOLERANCE_PX of it, and a ring (with the target's code beside
it) shows where. Holding Ctrl suspends it, as in QGIS's digitizing tools; "Bắt điểm" in the Edit
menu and toolbar turns it off (remembered between runs).

Only what the map draws is a target (a layer switched off, poles above their scale, features the
filter hides are not), and only at the scales poles are drawn at (MAX_MPP). The lookups go through a grid index over the layers' own arrays
(core/geo/point_grid.py), built again after each change of the map's data (on a worker thread
for a big layer): a mouse move over the whole country's poles costs a tenth of a millisecond
(benchmarks/snapping.py).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt

from hatang_desktop.core.geo.point_grid import PointGrid

from ..map.layers import PoleLayer
from ..settings import app_settings
from .sketch import HANDLE_Z, SKETCH_COLOUR, add_item

log = logging.getLogger(__name__)

TOLERANCE_PX = 12
SUSPEND = Qt.KeyboardModifier.ControlModifier
SNAP_SETTING = "editing/snapping"
LAYERS = ("poles", "sites", "routes")  # on a tie, the first wins: a pole over the site beside it
TABLES = {"poles": "poles", "sites": "sites", "routes": "fibre_routes"}
GRID_CELL_M = 50.0
# Zoomed out beyond the scale poles are drawn at, 12 px are kilometres: a click there means the
# place clicked, not a site two communes away.
MAX_MPP = PoleLayer.MAX_MPP
SYNC_INDEX_MAX = 60_000  # points indexed at once (a province: a few ms); more go to a worker thread


@dataclass(frozen=True)
class SnapTarget:
    table: str  # poles, sites, fibre_routes (a route's vertex)
    uuid: str
    code: str
    x: float  # map metres (EPSG:3857)
    y: float


class ScanIndex:
    """PointGrid's `within`, answered by looking at every point (while the grid is being built)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def within(self, x: float, y: float, r: float) -> np.ndarray:
        return np.flatnonzero((self.x - x) ** 2 + (self.y - y) ** 2 <= r * r)


class _IndexJob:
    """A PointGrid built on a worker thread from a copy of the layer's coordinates (the map
    may patch its arrays meanwhile: the stamp then no longer matches, and the grid is dropped)."""

    def __init__(self, data, stamp: tuple) -> None:
        self.data, self.stamp, self.grid = data, stamp, None
        x, y = data.x.copy(), data.y.copy()
        threading.Thread(target=self._build, args=(x, y), daemon=True, name="snap-index").start()

    def _build(self, x: np.ndarray, y: np.ndarray) -> None:
        try:
            self.grid = PointGrid(x, y, GRID_CELL_M)
        except Exception:  # noqa: BLE001 - the scan goes on answering; the log says why
            log.exception("snap index")


class _ModifierWatch(QObject):
    """The keyboard modifiers of the last mouse or key event the map got. (The application's
    own state lags: a shortcut's Ctrl stays "held" there until another key event.)"""

    KINDS = (QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
             QEvent.Type.KeyPress, QEvent.Type.KeyRelease)

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.modifiers = Qt.KeyboardModifier.NoModifier
        canvas.viewport().installEventFilter(self)
        canvas.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() in self.KINDS:
            self.modifiers = event.modifiers()
        return False


class Snapper:
    """The snapping of one canvas: targets looked up, the ring shown."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self.watch = _ModifierWatch(canvas)
        self.enabled = _remembered()
        self._grids: dict[str, tuple[object, tuple, PointGrid]] = {}  # key -> (data, stamp, index)
        self._jobs: dict[str, _IndexJob] = {}
        self._version = 0
        self.ring = pg.ScatterPlotItem(pxMode=True, symbol="o", size=24, pen=pg.mkPen(SKETCH_COLOUR, width=2.5),
                                       brush=pg.mkBrush(None))
        self.label = pg.TextItem("", color=SKETCH_COLOUR, fill=pg.mkBrush("#ffffffdd"), anchor=(-0.12, 1.15))
        for key, item in (("edit_snap_ring", self.ring), ("edit_snap_label", self.label)):
            item.setZValue(HANDLE_Z + 5)
            item.setVisible(False)
            add_item(canvas, key, item)
        self.target: SnapTarget | None = None

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        settings = app_settings()
        settings.setValue(SNAP_SETTING, self.enabled)
        settings.sync()
        if not on:
            self.show(None)

    def suspended(self, modifiers=None) -> bool:
        """Ctrl held: this move or click places the point exactly where the pointer is."""
        mods = self.watch.modifiers if modifiers is None else modifiers
        return bool(mods & SUSPEND)

    # -- lookups -----------------------------------------------------------------------------

    def forget(self, *_args) -> None:
        """The map's data changed (an edit patches the layers' arrays in place): index again."""
        self._version += 1

    def _grid(self, key: str):
        """The layer's data and an index over it. A big layer (a country's poles) is indexed
        on a worker thread (numpy's sort lets go of the GIL): until it is ready the layer is
        scanned point by point, a few ms a move, so the first move after an edit never waits."""
        data = self.canvas.layers[key].data
        if data is None:
            return None, None
        stamp = (id(data), len(data.x), self._version)
        cached = self._grids.get(key)
        if cached is not None and cached[0] is data and cached[1] == stamp:
            return data, cached[2]
        if len(data.x) <= SYNC_INDEX_MAX:
            grid = PointGrid(data.x.copy(), data.y.copy(), GRID_CELL_M)
            self._grids[key] = (data, stamp, grid)
            return data, grid
        job = self._jobs.get(key)
        if job is not None and job.stamp == stamp and job.data is data:
            if job.grid is not None:
                self._grids[key] = (data, stamp, job.grid)
                del self._jobs[key]
                return data, job.grid
        else:
            self._jobs[key] = _IndexJob(data, stamp)
        return data, ScanIndex(data.x, data.y)

    def find(self, x: float, y: float, *, exclude: set[tuple[str, str]] = frozenset(),
             modifiers=None) -> SnapTarget | None:
        """The target nearest to map point (x, y) within the tolerance, or None (snapping off,
        Ctrl held, nothing there). `exclude`: (table, uuid) of what is being moved."""
        mpp = self.canvas.metres_per_pixel()
        if not self.enabled or self.suspended(modifiers) or not (x == x and y == y) or mpp > MAX_MPP:
            return None
        r = TOLERANCE_PX * mpp
        best: tuple[float, SnapTarget] | None = None
        for key in LAYERS:
            layer = self.canvas.layers[key]
            if not layer.is_drawn():
                continue
            data, grid = self._grid(key)
            if grid is None:
                continue
            idx = grid.within(x, y, r)
            if not len(idx):
                continue
            feature = data.vertex_feature[idx] if key == "routes" else idx
            keep = np.ones(len(idx), bool)
            if len(layer.shown) == len(data):
                keep &= layer.shown[feature]
            table = TABLES[key]
            for t, u in exclude:
                if t == table:
                    keep &= data.uuid[feature] != u
            idx, feature = idx[keep], feature[keep]
            if not len(idx):
                continue
            d = np.hypot(data.x[idx] - x, data.y[idx] - y)
            k = int(np.argmin(d))
            if best is None or d[k] < best[0]:
                codes = data.attrs.get("code")
                code = str(codes[feature[k]]) if codes is not None else ""
                best = (float(d[k]), SnapTarget(table, str(data.uuid[feature[k]]), code,
                                                float(data.x[idx[k]]), float(data.y[idx[k]])))
        return best[1] if best else None

    # -- the ring ----------------------------------------------------------------------------

    def show(self, target: SnapTarget | None) -> None:
        self.target = target
        try:
            if target is None:
                self.ring.setVisible(False)
                self.label.setVisible(False)
                return
            self.ring.setData(x=[target.x], y=[target.y])
            self.ring.setVisible(True)
            self.label.setText(target.code or "")
            self.label.setPos(target.x, target.y)
            self.label.setVisible(bool(target.code))
        except Exception:  # noqa: BLE001 - a drawing fault must not end the drag or the app
            log.exception("snap marker")

    def snap(self, x: float, y: float, *, exclude: set[tuple[str, str]] = frozenset(),
             modifiers=None) -> tuple[float, float]:
        """(x, y) moved onto the target there, the ring shown on it (or hidden)."""
        target = self.find(x, y, exclude=exclude, modifiers=modifiers)
        self.show(target)
        return (target.x, target.y) if target is not None else (x, y)


def _remembered() -> bool:
    value = app_settings().value(SNAP_SETTING)
    if value is None:
        return True
    return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1")
