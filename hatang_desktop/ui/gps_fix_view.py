"""The GPS dock's figures for one fix: quality, satellites, HDOP, accuracy, position, time, bad lines.

Every row keeps one height whatever it shows: the quality chip is drawn as a chip even with no
fix, and the position and the time keep room for their two lines from the start. A row growing
when the first fix arrives pushed everything under it (the dock's buttons moved under the
user's finger), and a row given less than its lines cut the second one.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel

from hatang_desktop.core import gps
from hatang_desktop.core.geo.parse import format_dms

from . import strings
from .strings import format_number, tr

VN_OFFSET = dt.timedelta(hours=7)  # Vietnam keeps UTC+7 all year (no summer time)
GOOD, POOR, NONE = "#1b7f3b", "#b8860b", "#b00020"
_NO_FIX_CHIP = "#6b6b6b"


def chip_style(colour: str) -> str:
    return f"color: white; background: {colour}; padding: 1px 6px; border-radius: 3px; font-weight: bold"


class FixView(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        # Values at their natural width: the fix chip stays a chip.
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.quality_label = QLabel()
        self.quality_label.setStyleSheet(chip_style(_NO_FIX_CHIP))
        self.satellites_label = QLabel()
        self.hdop_label = QLabel()
        self.accuracy_label = QLabel()
        self.position_label = QLabel()
        self.position_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label = QLabel()
        self.bad_lines_label = QLabel("0")
        for label in (self.position_label, self.time_label):
            label.setMinimumHeight(2 * label.fontMetrics().lineSpacing() + 2)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for key, label in (("gps_quality", self.quality_label), ("gps_satellites", self.satellites_label),
                           ("gps_hdop", self.hdop_label), ("gps_accuracy", self.accuracy_label),
                           ("gps_position", self.position_label), ("gps_time", self.time_label),
                           ("gps_bad_lines", self.bad_lines_label)):
            form.addRow(tr(key), label)
            form.labelForField(label).setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def show_fix(self, fix: gps.Fix | None, max_accuracy_m: float) -> None:
        none = tr("gps_no_value")
        if fix is None:
            for label in (self.satellites_label, self.hdop_label, self.accuracy_label, self.position_label,
                          self.time_label, self.quality_label):
                label.setText(none)
            self.quality_label.setStyleSheet(chip_style(_NO_FIX_CHIP))
            self.accuracy_label.setStyleSheet("")
            return
        quality = gps.quality_label(fix.quality, strings.language())
        if fix.has_position and fix.fix_mode in (2, 3):
            quality += f" ({fix.fix_mode}D)"
        ok = fix.has_position and gps.refusal(fix, max_accuracy_m) is None
        colour = GOOD if ok else (POOR if fix.has_position else NONE)
        self.quality_label.setText(quality)
        self.quality_label.setStyleSheet(chip_style(colour))
        used = none if fix.satellites is None else str(fix.satellites)
        view = none if fix.satellites_in_view is None else str(fix.satellites_in_view)
        self.satellites_label.setText(tr("gps_satellites_value", used=used, view=view))
        self.hdop_label.setText(none if fix.hdop is None or fix.hdop >= 99 else format_number(fix.hdop, 2))
        if fix.accuracy_m is None:
            self.accuracy_label.setText(none)
            self.accuracy_label.setStyleSheet("")
        else:
            key = "gps_accuracy_gst" if fix.accuracy_source == "gst" else "gps_accuracy_hdop"
            self.accuracy_label.setText(tr(key, m=format_number(fix.accuracy_m, 1),
                                           uere=format_number(gps.UERE_M, 0)))
            self.accuracy_label.setStyleSheet(f"color: {colour}; font-weight: bold")
        if fix.lat is None:
            self.position_label.setText(none)
        else:
            self.position_label.setText(f"{fix.lat:.6f}, {fix.lon:.6f}\n"
                                        f"{format_dms(fix.lat, 'lat')} {format_dms(fix.lon, 'lon')}")
        self.time_label.setText(time_text(fix.time))


def time_text(when) -> str:
    if isinstance(when, dt.datetime):
        local = when + VN_OFFSET
        return tr("gps_time_value", local=local.strftime("%d/%m/%Y %H:%M:%S"), utc=when.strftime("%H:%M:%S"))
    if isinstance(when, dt.time):
        return f"{when.strftime('%H:%M:%S')} UTC"
    return tr("gps_no_value")


__all__ = ["FixView", "time_text", "chip_style", "GOOD", "POOR", "NONE", "VN_OFFSET"]
