"""The map canvas: a pyqtgraph plot in Web Mercator metres, axes hidden, aspect locked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import shapely
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QGraphicsPathItem

from hatang_desktop.core.map_data import Extent, MapData

from . import style
from .layers import MapLayer, all_layers

CLICK_TOLERANCE_PX = 8  # how far from a feature a click still picks it: a finger on a tablet


class MapCanvas(pg.PlotWidget):
    cursor_moved = Signal(float, float)  # map x, y (metres); NaN when the cursor leaves the map
    feature_clicked = Signal(float, float, float)  # map x, y and the tolerance in metres

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=style.BACKGROUND)
        plot = self.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.hideButtons()
        plot.setMenuEnabled(False)  # pyqtgraph's menu is English-only and talks about axes
        plot.setContentsMargins(0, 0, 0, 0)
        self.view = plot.getViewBox()
        self.view.setAspectLocked(True)
        self.view.setDefaultPadding(0.02)
        self.layers: dict[str, MapLayer] = {}
        for layer in all_layers():
            self.layers[layer.key] = layer
            for item in layer.items:
                plot.addItem(item)
        self._extent = Extent(0.0, 0.0, 0.0, 0.0)
        self._make_highlight(plot)
        self.view.sigRangeChanged.connect(self._range_changed)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)

    # -- data ----------------------------------------------------------------------------

    def set_map(self, data: MapData | None) -> None:
        """Show a database's layers, or nothing (None) after a failed open."""
        plot = self.getPlotItem()
        for layer in self.layers.values():
            layer.set_data(data)
            for label in getattr(layer, "labels", []):
                plot.addItem(label)
            layer.set_visible(layer.visible)
        self.highlight(None)
        self._extent = data.extent if data else Extent(0.0, 0.0, 0.0, 0.0)
        self.zoom_full()

    def _make_highlight(self, plot) -> None:
        # The identified feature: a halo under points, a glow along lines and outlines.
        self.highlight_point = pg.ScatterPlotItem(pxMode=True, symbol="o", size=26,
                                                  pen=style.pen(style.HIGHLIGHT, 3.0), brush=pg.mkBrush(None))
        self.highlight_path = QGraphicsPathItem()
        self.highlight_path.setPen(style.pen(style.HIGHLIGHT, 5.0))
        for item in (self.highlight_point, self.highlight_path):
            item.setZValue(40)
            item.setVisible(False)
            plot.addItem(item)

    def highlight(self, geometry: shapely.Geometry | None) -> None:
        """Mark one feature (EPSG:3857 geometry), or clear the mark with None."""
        self.highlight_point.setVisible(False)
        self.highlight_path.setVisible(False)
        if geometry is None or geometry.is_empty:
            return
        if geometry.geom_type == "Point":
            self.highlight_point.setData(x=[geometry.x], y=[geometry.y])
            self.highlight_point.setVisible(True)
            return
        parts = shapely.get_rings(geometry) if geometry.geom_type.endswith("Polygon") else [geometry]
        coords, index = shapely.get_coordinates(parts, return_index=True)
        connect = np.ones(len(coords), dtype=np.ubyte)
        connect[np.flatnonzero(np.diff(index))] = 0
        self.highlight_path.setPath(pg.arrayToQPath(coords[:, 0], coords[:, 1], connect=connect))
        self.highlight_path.setVisible(True)

    def set_layer_visible(self, key: str, visible: bool) -> None:
        self.layers[key].set_visible(visible)

    # -- navigation ----------------------------------------------------------------------

    def zoom_full(self) -> None:
        e = self._extent
        if e.empty:
            self.view.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        else:
            self.view.setRange(xRange=(e.min_x, e.max_x), yRange=(e.min_y, e.max_y))

    def zoom_by(self, factor: float) -> None:
        """factor < 1 zooms in, about the centre of the view."""
        self.view.scaleBy((factor, factor))

    def metres_per_pixel(self) -> float:
        width_px = max(self.view.width(), 1.0)
        (x0, x1), _ = self.view.viewRange()
        return (x1 - x0) / width_px

    # -- events --------------------------------------------------------------------------

    def _range_changed(self, *_args) -> None:
        mpp = self.metres_per_pixel()
        for layer in self.layers.values():
            layer.view_changed(mpp)

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        if self.view.sceneBoundingRect().contains(scene_pos):
            p = self.view.mapSceneToView(scene_pos)
            self.cursor_moved.emit(p.x(), p.y())
        else:
            self.cursor_moved.emit(float("nan"), float("nan"))

    def _mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        if not self.view.sceneBoundingRect().contains(event.scenePos()):
            return
        p = self.view.mapSceneToView(event.scenePos())
        self.feature_clicked.emit(p.x(), p.y(), CLICK_TOLERANCE_PX * self.metres_per_pixel())

    def keyPressEvent(self, event) -> None:
        # +/- zoom even without the menu shortcuts (the canvas keeps focus while panning).
        if event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(0.5)
        elif event.key() == Qt.Key.Key_Minus:
            self.zoom_by(2.0)
        else:
            super().keyPressEvent(event)
