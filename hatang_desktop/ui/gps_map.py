"""The GPS on the map: the receiver's position drawn (ui/map/gps_marker.py), "Theo dõi vị trí"
(follow me) keeping it in view, and "Đi tới" leading the user back to a site or a pole.

Follow me
    A checkable action (map toolbar) and a check box in the GPS dock, one state, remembered in the
    preferences. With each fix, when the dot is outside the middle of the view (EDGE_MARGIN of
    the width or height from an edge, or off the map) the view is centred on it again at the same
    scale: the map moves in steps the eye can follow rather than under a still dot. Dragging the
    map by hand means the user wants to look elsewhere: following stops (the status bar says so)
    until it is switched on again. Zooming with the wheel or the buttons keeps it on.

Đi tới (go to)
    `go_to(feature)` for the identified site or pole (the identify panel's button, Ctrl+G or
    Xem > Đi tới): the dock shows "Cách 235 m, hướng 47° Đông Bắc" from the GPS position to it,
    geodesic on WGS84 (core.navigation.distance_bearing), again with every fix; a dashed line joins the
    dot and the feature and the map shows both, refitted when either leaves the view. "Dừng"
    ends it.
"""

from __future__ import annotations

import shapely
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from hatang_desktop.core import gps, navigation, schema
from hatang_desktop.core.geo.projection import lonlat_to_mercator, mercator_to_lonlat

from . import strings
from .actions import connect_triggered
from .map.gps_marker import GpsMarker
from .map.overlays import format_distance
from .preferences import Preferences
from .strings import tr

EDGE_MARGIN = 0.2  # follow me recentres once the dot is this close (of the view's size) to an edge
GO_TO_TABLES = ("sites", "poles")
GO_TO_MIN_HALF_M = 60.0  # "Đi tới" never zooms closer than this around the two points


class GoToBox(QGroupBox):
    """The dock's "Đi tới" part: which feature, how far and which way, and Dừng."""

    def __init__(self) -> None:
        super().__init__(tr("goto_title"))
        lay = QVBoxLayout(self)
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)
        self.target_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("font-size: 12pt; font-weight: bold")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        self.stop_button = QPushButton(tr("goto_stop"))
        row.addWidget(self.stop_button)
        row.addStretch(1)
        lay.addWidget(self.target_label)
        lay.addWidget(self.status_label)
        lay.addLayout(row)
        self.hide()


class GpsOnMap(QObject):
    """Wires the GPS dock's fixes to the map. Built by the main window after its canvas, GPS dock
    and identify panel; `act_follow` and `act_go_to` go in its toolbar and menus."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window, self.canvas, self.panel = window, window.canvas, window.gps_panel
        self.marker = GpsMarker()
        self.canvas.add_overlay("gps_position", self.marker, z=60)
        self.target: tuple[float, float] | None = None  # lon, lat of the feature "Đi tới" leads to
        self.target_name = ""
        self.last_distance: tuple[float, float] | None = None  # metres, degrees
        self._dragging = False
        self.act_follow = QAction(tr("gps_follow"), window)
        self.act_follow.setCheckable(True)
        self.act_follow.setToolTip(tr("gps_follow_tip"))
        self.act_follow.setStatusTip(tr("gps_follow_tip"))
        self.act_follow.setChecked(Preferences.load().gps_follow)
        connect_triggered(self.act_follow, self._follow_toggled)
        self.act_go_to = QAction(tr("goto_act"), window)
        self.act_go_to.setShortcut(QKeySequence("Ctrl+G"))
        self.act_go_to.setToolTip(f"{tr('goto_tip')} (Ctrl+G)")
        self.act_go_to.setStatusTip(tr("goto_tip"))
        connect_triggered(self.act_go_to, self.go_to_identified)
        self.follow_check = QCheckBox(tr("gps_follow"))
        self.follow_check.setToolTip(tr("gps_follow_tip"))
        self.follow_check.setChecked(self.act_follow.isChecked())
        self.follow_check.toggled.connect(self._check_toggled)
        self.act_follow.toggled.connect(self.follow_check.setChecked)
        row = QWidget()  # the box at its natural width: a click right of its text is not on it
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.follow_check)
        lay.addStretch(1)
        self.panel.add_section(row)
        self.go_to_box = GoToBox()
        self.go_to_box.stop_button.clicked.connect(self.stop_go_to)
        self.panel.add_section(self.go_to_box, top=True)  # read while walking: first in the dock
        self.panel.fix_changed.connect(self._on_fix)
        self.canvas.view.sigRangeChangedManually.connect(self._moved_by_hand)
        self.canvas.viewport().installEventFilter(self)
        identify = window.identify_panel
        if hasattr(identify, "go_to_requested"):
            identify.go_to_requested.connect(self.go_to)

    # -- follow me --------------------------------------------------------------------------

    @property
    def following(self) -> bool:
        return self.act_follow.isChecked()

    def set_following(self, on: bool) -> None:
        self.act_follow.setChecked(on)
        self._follow_toggled()

    def _check_toggled(self, on: bool) -> None:
        if on != self.following:
            self.set_following(on)

    def _follow_toggled(self) -> None:
        prefs = Preferences.load()
        prefs.gps_follow = self.following
        prefs.save()
        if self.following and self.marker.position is not None:
            self._keep_in_view(*self.marker.position)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        # A drag is the only manual view change made with a button held: the wheel and the zoom
        # buttons change the scale, and those keep following on.
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
        elif kind == QEvent.Type.MouseButtonRelease:
            self._dragging = False
        return False

    def _moved_by_hand(self, *_args) -> None:
        if self._dragging and self.following and self.canvas.tool == "pan":
            self.act_follow.setChecked(False)
            self._follow_toggled()
            self.window.statusBar().showMessage(tr("gps_follow_stopped"), 6000)

    def _keep_in_view(self, x: float, y: float) -> None:
        (x0, x1), (y0, y1) = self.canvas.view.viewRange()
        mx, my = (x1 - x0) * EDGE_MARGIN, (y1 - y0) * EDGE_MARGIN
        if x0 + mx <= x <= x1 - mx and y0 + my <= y <= y1 - my:
            return
        hw, hh = (x1 - x0) / 2, (y1 - y0) / 2
        self.canvas.view.setRange(xRange=(x - hw, x + hw), yRange=(y - hh, y + hh), padding=0)

    # -- fixes ------------------------------------------------------------------------------

    def _on_fix(self, fix: gps.Fix) -> None:
        if not fix.has_position:
            # The last position stays drawn, greyed: where the user was, not where the user is.
            self.marker.set_lost()
            if self.target is not None:
                self.go_to_box.status_label.setText(tr("goto_no_fix"))
            return
        good = gps.refusal(fix, self.panel.max_accuracy_m) is None
        heading = fix.course_deg if fix.moving else None
        self.marker.show_fix(fix.lon, fix.lat, fix.accuracy_m, heading, good)
        if self.target is not None:
            self._show_distance(fix)
            self._fit_both(only_if_out=True)
        elif self.following:
            self._keep_in_view(*self.marker.position)

    # -- đi tới -----------------------------------------------------------------------------

    def go_to_identified(self) -> None:
        self.go_to(self.window.identify_panel.feature)

    def go_to(self, feature) -> bool:
        """Lead to a site or a pole (core.map_data.Feature); False (and why, in the status bar)
        for anything else."""
        if feature is None or feature.table not in GO_TO_TABLES:
            self.window.statusBar().showMessage(tr("goto_pick_first"), 6000)
            return False
        lonlat = _lonlat(feature)
        if lonlat is None:
            self.window.statusBar().showMessage(tr("goto_no_position"), 6000)
            return False
        self.target = lonlat
        record = schema.record_label(feature.table, strings.language())
        self.target_name = f"{record} {schema.title(feature.table, feature.attributes)}"
        self.marker.set_target(lonlat)
        self.go_to_box.target_label.setText(tr("goto_target", name=self.target_name))
        self.go_to_box.show()
        self.panel.show()
        self.panel.raise_()
        self.panel.widget().verticalScrollBar().setValue(0)  # a scrolled dock shows the box
        fix = self.panel.current_fix
        if fix is not None and fix.has_position and self.marker.position is not None:
            self._show_distance(fix)
        else:
            self.last_distance = None
            self.go_to_box.status_label.setText(tr("goto_waiting"))
        self._fit_both(only_if_out=False)
        return True

    def stop_go_to(self) -> None:
        self.target = None
        self.last_distance = None
        self.marker.set_target(None)
        self.go_to_box.hide()

    def _show_distance(self, fix: gps.Fix) -> None:
        distance, bearing = navigation.distance_bearing(fix.lat, fix.lon, self.target[1], self.target[0])
        self.last_distance = (distance, bearing)
        self.go_to_box.status_label.setText(tr("goto_status", d=format_distance(distance), deg=round(bearing) % 360,
                                               dir=navigation.compass_point(bearing, strings.language())))

    def _fit_both(self, *, only_if_out: bool) -> None:
        points = [lonlat_to_mercator(*self.target)]
        if self.marker.position is not None:
            points.append(self.marker.position)
        xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
        if only_if_out:
            (x0, x1), (y0, y1) = self.canvas.view.viewRange()
            mx, my = (x1 - x0) * 0.05, (y1 - y0) * 0.05
            if all(x0 + mx <= x <= x1 - mx and y0 + my <= y <= y1 - my for x, y in zip(xs, ys)):
                return
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        hw = max((max(xs) - min(xs)) / 2 * 1.25, GO_TO_MIN_HALF_M)
        hh = max((max(ys) - min(ys)) / 2 * 1.25, GO_TO_MIN_HALF_M)
        self.canvas.view.setRange(xRange=(cx - hw, cx + hw), yRange=(cy - hh, cy + hh), padding=0)


def _lonlat(feature) -> tuple[float, float] | None:
    a = feature.attributes
    if a.get("lon") is not None and a.get("lat") is not None:
        return float(a["lon"]), float(a["lat"])
    if feature.geometry is not None and not feature.geometry.is_empty:
        point = shapely.centroid(feature.geometry)
        lon, lat = mercator_to_lonlat(point.x, point.y)
        return float(lon), float(lat)
    return None


__all__ = ["GpsOnMap", "GoToBox", "EDGE_MARGIN"]
