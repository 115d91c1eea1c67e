"""The inspector's GPS track (core/gps_track.py): a line per recorded stretch, the newest
breadcrumb marked. Not a MapData layer: the track is read from its own tables when a database
opens and grows from the recorder as the inspector walks (ui/track_recording.py)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPainterPath

from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.core.map_data import MapData

from ...strings import tr
from .. import style
from ..points import PointCloudItem, PointStyle
from .base import LegendEntry, MapLayer, path_item

TRACK_COLOUR = "#00897b"  # teal: apart from the operators' colours, the measure's magenta and boundaries


class TrackLayer(MapLayer):
    key, title_key, table = "tracks", "layer_tracks", ""

    def __init__(self) -> None:
        super().__init__()
        self._pen = style.pen(TRACK_COLOUR, 3.0)
        self.line = path_item(self._pen, None, 4)   # over villages and zones, under poles and sites
        # The track being recorded: its own item, so a new breadcrumb redraws it alone, not every
        # stored track.
        self.live_line = path_item(self._pen, None, 4)
        self.last = PointCloudItem(21, thin=False)  # the newest point over everything
        self._last_pen = style.pen(TRACK_COLOUR, 3.0)
        self.last.set_styles([PointStyle("o", 13, self._last_pen, pg.mkBrush("#ffffff"))])
        self.items = [self.line, self.live_line, self.last]
        self.tracks: list[list[tuple[list[float], list[float]]]] = []   # per track, its segments' lon/lat
        self.live: tuple[list[float], list[float]] = ([], [])

    def set_data(self, data: MapData | None) -> None:
        """Survey data says nothing about tracks; no database at all clears them."""
        if data is None:
            self.set_tracks([])

    def set_tracks(self, tracks: list[list[tuple[list[float], list[float]]]],
                   live: tuple[list[float], list[float]] = ([], [])) -> None:
        """Draw these stored tracks (per track its segments as (lons, lats)) and the one being
        recorded (`live`)."""
        self.tracks = [[seg for seg in t if len(seg[0])] for t in tracks]
        self.tracks = [t for t in self.tracks if t]
        path = QPainterPath()
        for track in self.tracks:
            for lons, lats in track:
                path.addPath(_path(lons, lats))
        self.line.setPath(path)
        self.set_live(*live)

    def set_live(self, lons: list[float], lats: list[float]) -> None:
        """The track being recorded, its last point the newest (else the last stored track's)."""
        self.live = (list(lons), list(lats))
        self.live_line.setPath(_path(lons, lats) if lons else QPainterPath())
        self.shown = np.ones(self.total_count(), bool)
        newest = (lons, lats) if lons else self.tracks[-1][-1] if self.tracks else None
        if newest is None:
            self.last.set_points(np.zeros(0), np.zeros(0))
            return
        x, y = lonlat_to_mercator(np.asarray(newest[0][-1:], float), np.asarray(newest[1][-1:], float))
        self.last.set_points(x, y)

    def total_count(self) -> int:
        return len(self.tracks) + (1 if self.live[0] else 0)

    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(tr("legend_track_line"), "line", self._pen),
                LegendEntry(tr("legend_track_last"), "symbol", self._last_pen, pg.mkBrush("#ffffff"), "o")]


def _path(lons, lats) -> QPainterPath:
    x, y = lonlat_to_mercator(np.asarray(lons, float), np.asarray(lats, float))
    connect = np.ones(len(x), bool)
    connect[-1] = False
    return pg.arrayToQPath(x, y, connect=connect)
