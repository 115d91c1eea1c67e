"""The main window's status bar: the cursor's position (WGS-84 and VN-2000), the measurement or
selection message, the scale and the database's counts."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QProgressBar

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.geo.parse import format_dms
from hatang_desktop.core.geo.projection import mercator_to_lonlat
from hatang_desktop.core.geo.vn2000 import wgs84_to_vn2000

from .map.overlays import format_area, format_distance
from .strings import format_int, format_number, tr


STATUS_MESSAGE_MS = 8000  # how long a status-bar message stays


class WindowStatusBar:
    """Mixed into MainWindow: builds the status bar's labels and keeps them up to date."""

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.position_label = QLabel()
        self.vn2000_label = QLabel()
        self.message_label = QLabel()  # measurement and selection results
        self.message_label.setStyleSheet("color: #8a0057; font-weight: bold")
        self.scale_label = QLabel()
        self.counts_label = QLabel(tr("no_database"))
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 100)
        self.progress.hide()
        bar.addWidget(self.position_label)
        bar.addWidget(self.vn2000_label)
        bar.addWidget(self.message_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.scale_label)
        bar.addPermanentWidget(self.counts_label)

    def _show_counts(self, info: dict) -> None:
        c = info["counts"]
        if c is None:  # counted after the map is shown (a national file: most of a second)
            self.counts_label.setText(tr("status_counting"))
            self.counts_label.setToolTip("")
            return
        # Short on the bar (1366 px must hold position, VN-2000, a measurement and the scale),
        # everything in the tooltip.
        self.counts_label.setText(tr("status_counts_short", sites=format_int(c["sites"]),
                                     poles=format_int(c["poles"]), routes=format_int(c["fibre_routes"])))
        self.counts_label.setToolTip(tr(
            "status_counts", sites=format_int(c["sites"]), shared=format_int(info["shared_sites"]),
            poles=format_int(c["poles"]), routes=format_int(c["fibre_routes"]),
            findings=format_int(c["findings"]), communes=format_int(c["communes"])))

    def _show_position(self, x: float, y: float) -> None:
        if math.isnan(x):
            self.position_label.clear()
            self.vn2000_label.clear()
            return
        lon, lat = (float(v) for v in mercator_to_lonlat(x, y))
        dec, dms = f"{lat:.6f}, {lon:.6f}", f"{format_dms(lat, 'lat')} {format_dms(lon, 'lon')}"
        if self.coord_display == "dms":  # the preferred form first: it survives a narrow status bar
            dec, dms = dms, dec
        wgs84 = tr("status_position", dec=dec, dms=dms)
        vn2000 = ""
        if self.meridian is not None:
            try:
                north, east = wgs84_to_vn2000(lat, lon, meridian=self.meridian)
                vn2000 = tr("status_vn2000", meridian=format_number(self.meridian, 2).rstrip("0").rstrip(",."),
                            x=format_number(north, 1), y=format_number(east, 1))
            except HatangError:
                vn2000 = ""
        if self.coord_display == "vn2000" and vn2000:
            wgs84, vn2000 = vn2000, wgs84
        self.position_label.setText(wgs84)
        self.vn2000_label.setText(vn2000)

    def _show_scale(self, denominator: float) -> None:
        # Rounded to 2 significant digits: 1:48.213 reads as noise, 1:48.000 as a scale.
        if denominator <= 0:
            self.scale_label.clear()
            return
        digits = max(int(math.floor(math.log10(denominator))) - 1, 0)
        rounded = round(denominator / 10**digits) * 10**digits
        self.scale_label.setText(tr("status_scale", n=format_int(int(rounded))))

    def _show_measure(self, length: float, area: float, finished: bool) -> None:
        if not self.canvas.tool.startswith("measure"):
            return
        if length <= 0:
            self.message_label.setText(tr("measure_start"))
        elif self.canvas.tool == "measure_area" and area > 0:
            self.message_label.setText(tr("measure_area", area=format_area(area), perimeter=format_distance(length)))
        else:
            self.message_label.setText(tr("measure_length", value=format_distance(length)))

    def _tool_changed(self, tool: str) -> None:
        self.tool_actions[tool].setChecked(True)
        self.message_label.setText(tr("measure_start") if tool.startswith("measure") else "")
