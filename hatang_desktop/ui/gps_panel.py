"""The GPS dock: live fix quality, satellites, HDOP, accuracy and position, and the gate that
decides whether the position may be used for a record.

Embedding (for the record form and the map tools)::

    panel = main_window.gps_panel                    # or GpsPanel(parent) anywhere
    panel.position_accepted.connect(form.set_position_from_gps)
    # slot signature: (lat: float, lon: float, meta: dict) where meta holds the GNSS columns of
    # schema 3 (core.gps.GNSS_COLUMNS: gnss_accuracy_m, gnss_hdop, gnss_satellites,
    # gnss_fix_time, gnss_source, gnss_fix_count): write them into the record with lat/lon.
    panel.use_position()        # what "Dùng vị trí GPS" does; returns False (and shows why) if refused
    panel.start_averaging(10)   # N good fixes, then position_accepted with their mean

Other API: `start_log(path, pace=False)`, `start_serial(port, baudrate)`, `stop()`,
`feed(fix)` (show one fix; the reader thread calls it), `current_fix`, `max_accuracy_m`
(the threshold, default 10 m), signals `position_refused(str)` and `fix_changed(object)`.
A refusal is shown inside the dock in red (no modal box: the user is standing in a field).

Reading runs on a QThread over the generators of core/gps.py; `stop()` ends it within a second.
A live receiver silent for more than STALE_S seconds makes its last fix unusable.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout,
                               QFrame, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QStackedWidget, QVBoxLayout, QWidget)

from hatang_desktop.core import gps
from hatang_desktop.core.geo.parse import format_dms

from . import file_dialogs
from . import strings
from .strings import format_number, message_text, tr

STALE_S = 5.0
VN_OFFSET = dt.timedelta(hours=7)  # Vietnam keeps UTC+7 all year (no summer time)
BAUD_RATES = (4800, 9600, 19200, 38400, 57600, 115200)
SERIAL, LOG = 0, 1

_GOOD, _POOR, _NONE = "#1b7f3b", "#b8860b", "#b00020"


class _Reader(QThread):
    """Iterates one of core.gps's generators off the GUI thread."""
    fix_read = Signal(object, int)  # fix, corrupt lines so far
    failed = Signal(str)

    def __init__(self, make, parser: gps.NmeaParser, parent=None):
        super().__init__(parent)
        self._make, self.parser = make, parser
        self.stop_event = threading.Event()

    def run(self) -> None:
        try:
            for fix in self._make(self.stop_event, self.parser):
                self.fix_read.emit(fix, self.parser.stats.corrupt)
        except gps.GpsSourceError as exc:
            self.failed.emit(message_text(exc))
        except Exception as exc:  # noqa: BLE001 - a reader bug must not kill the app
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class GpsPanel(QDockWidget):
    position_accepted = Signal(float, float, dict)
    position_refused = Signal(str)
    fix_changed = Signal(object)

    def __init__(self, parent=None, *, max_accuracy_m: float = gps.DEFAULT_MAX_ACCURACY_M):
        super().__init__(tr("dock_gps"), parent)
        self.setObjectName("gps_panel")
        self.current_fix: gps.Fix | None = None
        self._reader: _Reader | None = None
        self._live = False
        self._last_rx = 0.0
        self._fix_count = 0
        self._averager: gps.Averager | None = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self._make_source_box())
        layout.addWidget(self._make_status_box())
        layout.addLayout(self._make_use_row(max_accuracy_m))
        self.message = QLabel(tr("gps_idle"))
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.setWidget(body)
        self._stale_timer = QTimer(self)
        self._stale_timer.setInterval(1000)
        self._stale_timer.timeout.connect(self._check_stale)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)
        self._show(None)

    # -- construction ----------------------------------------------------------------------

    def _make_source_box(self) -> QGroupBox:
        box = QGroupBox(tr("gps_source"))
        grid = QVBoxLayout(box)
        self.source_combo = QComboBox()
        self.source_combo.addItems([tr("gps_source_serial"), tr("gps_source_log")])
        grid.addWidget(self.source_combo)
        self.source_stack = QStackedWidget()
        serial_page = QWidget()
        sf = QFormLayout(serial_page)
        sf.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.port_combo = QComboBox()
        self.port_combo.setEditable(True)
        self.port_combo.setMinimumContentsLength(10)
        refresh = QPushButton(tr("gps_refresh_ports"))
        refresh.clicked.connect(self.refresh_ports)
        row.addWidget(self.port_combo, 1)
        row.addWidget(refresh)
        sf.addRow(tr("gps_port"), row)
        self.baud_combo = QComboBox()
        for rate in BAUD_RATES:
            self.baud_combo.addItem(str(rate), rate)
        self.baud_combo.setCurrentIndex(BAUD_RATES.index(9600))
        sf.addRow(tr("gps_baud"), self.baud_combo)
        log_page = QWidget()
        lf = QFormLayout(log_page)
        lf.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.log_edit = QLineEdit()
        browse = QPushButton(tr("gps_browse"))
        browse.clicked.connect(self._browse_log)
        row.addWidget(self.log_edit, 1)
        row.addWidget(browse)
        lf.addRow(tr("gps_log_file"), row)
        self.pace_check = QCheckBox(tr("gps_pace"))
        lf.addRow(self.pace_check)
        self.source_stack.addWidget(serial_page)
        self.source_stack.addWidget(log_page)
        self.source_combo.currentIndexChanged.connect(self.source_stack.setCurrentIndex)
        grid.addWidget(self.source_stack)
        buttons = QHBoxLayout()
        self.start_button = QPushButton(tr("gps_start"))
        self.stop_button = QPushButton(tr("gps_stop"))
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        grid.addLayout(buttons)
        self.refresh_ports()
        return box

    def _make_status_box(self) -> QFrame:
        frame = QFrame()
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        form = QFormLayout(frame)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        # Values at their natural width: the fix chip stays a chip, two-line values keep both lines.
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.quality_label = QLabel()
        self.satellites_label = QLabel()
        self.hdop_label = QLabel()
        self.accuracy_label = QLabel()
        self.position_label = QLabel()
        self.position_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label = QLabel()
        self.bad_lines_label = QLabel("0")
        for key, label in (("gps_quality", self.quality_label), ("gps_satellites", self.satellites_label),
                           ("gps_hdop", self.hdop_label), ("gps_accuracy", self.accuracy_label),
                           ("gps_position", self.position_label), ("gps_time", self.time_label),
                           ("gps_bad_lines", self.bad_lines_label)):
            form.addRow(tr(key), label)
        return frame

    def _make_use_row(self, max_accuracy_m: float) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("gps_threshold")))
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.5, 100.0)
        self.threshold_spin.setDecimals(1)
        self.threshold_spin.setSuffix(" m")
        self.threshold_spin.setValue(max_accuracy_m)
        row.addWidget(self.threshold_spin)
        row.addStretch(1)
        box.addLayout(row)
        self.use_button = QPushButton(tr("gps_use"))
        self.use_button.setToolTip(tr("gps_use_tip"))
        self.use_button.setStyleSheet("font-weight: bold; padding: 5px 10px")
        self.use_button.clicked.connect(self.use_position)
        box.addWidget(self.use_button)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("gps_average_n")))
        self.average_spin = QSpinBox()
        self.average_spin.setRange(2, 300)
        self.average_spin.setValue(gps.DEFAULT_AVERAGE_N)
        row.addWidget(self.average_spin)
        self.average_button = QPushButton(tr("gps_average"))
        self.average_button.setToolTip(tr("gps_average_tip"))
        self.average_button.clicked.connect(lambda: self.start_averaging(self.average_spin.value()))
        self.cancel_average_button = QPushButton(tr("gps_average_cancel"))
        self.cancel_average_button.clicked.connect(self.cancel_averaging)
        self.cancel_average_button.setEnabled(False)
        row.addWidget(self.average_button, 1)
        row.addWidget(self.cancel_average_button)
        box.addLayout(row)
        return box

    # -- settings ---------------------------------------------------------------------------

    @property
    def max_accuracy_m(self) -> float:
        return self.threshold_spin.value()

    @max_accuracy_m.setter
    def max_accuracy_m(self, value: float) -> None:
        self.threshold_spin.setValue(value)

    def refresh_ports(self) -> None:
        current = self.port_combo.currentText()
        self.port_combo.clear()
        try:
            ports = gps.list_serial_ports()
        except Exception:  # noqa: BLE001 - no serial support on this machine: type a port by hand
            ports = []
        for device, description in ports:
            self.port_combo.addItem(device, device)
            self.port_combo.setItemData(self.port_combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        self.port_combo.lineEdit().setPlaceholderText(tr("gps_no_ports"))
        if current:
            self.port_combo.setEditText(current)

    def _browse_log(self) -> None:
        path, _ = file_dialogs.open_file_name(self, tr("gps_source_log"), self.log_edit.text(), tr("gps_log_filter"))
        if path:
            self.log_edit.setText(path)

    # -- reading ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the source chosen in the dock."""
        if self.source_combo.currentIndex() == LOG:
            if not self.log_edit.text().strip():
                self._say(tr("gps_choose_log_first"), _NONE)
                return
            self.start_log(self.log_edit.text().strip(), pace=self.pace_check.isChecked())
        else:
            port = self.port_combo.currentText().strip()
            if not port:
                self._say(tr("gps_choose_port_first"), _NONE)
                return
            self.start_serial(port, int(self.baud_combo.currentData() or 9600))

    def start_log(self, path: str | Path, *, pace: bool = False, speed: float = 1.0) -> None:
        path = Path(path)
        self.source_combo.setCurrentIndex(LOG)
        self.log_edit.setText(str(path))
        self.pace_check.setChecked(pace)
        parser = gps.NmeaParser(f"nmea-log:{path.name}")
        self._run(lambda stop, p: gps.read_log(path, pace=pace, speed=speed, stop=stop, parser=p), parser,
                  live=False, label=path.name)

    def start_serial(self, port: str, baudrate: int = 9600) -> None:
        self.source_combo.setCurrentIndex(SERIAL)
        self.port_combo.setEditText(port)
        parser = gps.NmeaParser(f"serial:{port}")
        self._run(lambda stop, p: gps.read_serial(port, baudrate, stop=stop, parser=p), parser,
                  live=True, label=port)

    def _run(self, make, parser: gps.NmeaParser, *, live: bool, label: str) -> None:
        self.stop()
        self.current_fix = None
        self._fix_count = 0
        self._show(None)
        self._live = live
        self._last_rx = time.monotonic()
        reader = _Reader(make, parser, self)
        reader.fix_read.connect(self._on_fix)
        reader.failed.connect(self._on_failed)
        reader.finished.connect(lambda r=reader: self._on_finished(r))
        self._reader = reader
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._say(tr("gps_running", source=label), None)
        reader.start()
        if live:
            self._stale_timer.start()

    def stop(self) -> None:
        """Stop reading (returns once the reader thread has ended)."""
        reader, self._reader = self._reader, None
        self._stale_timer.stop()
        if reader is not None:
            reader.stop_event.set()
            reader.wait(3000)
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def is_running(self) -> bool:
        return self._reader is not None and self._reader.isRunning()

    def wait_until_finished(self, timeout_ms: int = 10000) -> bool:
        """Block until the reader has ended (a log replay without pace ends on its own)."""
        reader = self._reader
        return True if reader is None else reader.wait(timeout_ms)

    def _on_fix(self, fix: gps.Fix, corrupt: int) -> None:
        if self.sender() is not self._reader:
            return  # a fix still queued from a reader that was stopped
        self.bad_lines_label.setText(str(corrupt))
        self.feed(fix)

    def _on_failed(self, message: str) -> None:
        self._say(message, _NONE)
        self._live = False
        self.current_fix = None

    def _on_finished(self, reader: _Reader) -> None:
        if reader is not self._reader:
            return
        self._stale_timer.stop()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if not self._live and self.current_fix is not None and self._averager is None:
            self._say(tr("gps_replay_done", fixes=self._fix_count), None)

    def _check_stale(self) -> None:
        age = time.monotonic() - self._last_rx
        if self._live and age > STALE_S:
            self._say(tr("gps_stale", s=int(age)), _POOR)

    # -- showing a fix --------------------------------------------------------------------------

    def feed(self, fix: gps.Fix) -> None:
        """Show a fix and, while averaging, count it in."""
        self.current_fix = fix
        self._fix_count += 1
        self._last_rx = time.monotonic()
        self._show(fix)
        self.fix_changed.emit(fix)
        if self._averager is not None:
            self._average_step(fix)

    def _show(self, fix: gps.Fix | None) -> None:
        none = tr("gps_no_value")
        if fix is None:
            for label in (self.satellites_label, self.hdop_label, self.accuracy_label, self.position_label,
                          self.time_label):
                label.setText(none)
            self.quality_label.setText(none)
            self.quality_label.setStyleSheet("")
            return
        quality = gps.quality_label(fix.quality, strings.language())
        if fix.has_position and fix.fix_mode in (2, 3):
            quality += f" ({fix.fix_mode}D)"
        ok = fix.has_position and gps.refusal(fix, self.max_accuracy_m) is None
        colour = _GOOD if ok else (_POOR if fix.has_position else _NONE)
        self.quality_label.setText(quality)
        self.quality_label.setStyleSheet(f"color: white; background: {colour}; padding: 1px 6px; "
                                         "border-radius: 3px; font-weight: bold")
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
        self.time_label.setText(self._time_text(fix.time))

    @staticmethod
    def _time_text(when) -> str:
        if isinstance(when, dt.datetime):
            local = when + VN_OFFSET
            return tr("gps_time_value", local=local.strftime("%d/%m/%Y %H:%M:%S"), utc=when.strftime("%H:%M:%S"))
        if isinstance(when, dt.time):
            return f"{when.strftime('%H:%M:%S')} UTC"
        return tr("gps_no_value")

    def _say(self, text: str, colour: str | None) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour}; font-weight: bold" if colour else "")

    # -- using the position -------------------------------------------------------------------

    def _stale_reason(self) -> str | None:
        age = time.monotonic() - self._last_rx
        if self._live and self.current_fix is not None and age > STALE_S:
            return tr("gps_stale_refused", s=int(age))
        return None

    def _refuse(self, reason: str) -> bool:
        self._say(reason, _NONE)
        self.position_refused.emit(reason)
        return False

    def use_position(self) -> bool:
        """Emit position_accepted for the current fix, or show why it may not be used."""
        stale = self._stale_reason()
        if stale:
            return self._refuse(stale)
        reason = gps.refusal(self.current_fix, self.max_accuracy_m)
        if reason:
            return self._refuse(message_text(reason))
        fix = self.current_fix
        pos = f"{fix.lat:.6f}, {fix.lon:.6f}"
        self._say(tr("gps_accepted", pos=pos, m=format_number(fix.accuracy_m, 1)), _GOOD)
        self.position_accepted.emit(fix.lat, fix.lon, fix.metadata())
        return True

    def start_averaging(self, n: int = gps.DEFAULT_AVERAGE_N) -> None:
        """Collect N fixes that pass the threshold from now on, then emit their mean."""
        self._averager = gps.Averager(n, self.max_accuracy_m)
        self.average_button.setEnabled(False)
        self.cancel_average_button.setEnabled(True)
        self._say(tr("gps_averaging", got=0, n=n, skipped=0), None)

    def cancel_averaging(self) -> None:
        self._averager = None
        self.average_button.setEnabled(True)
        self.cancel_average_button.setEnabled(False)
        self._say("", None)

    @property
    def averaging(self) -> bool:
        return self._averager is not None

    def _average_step(self, fix: gps.Fix) -> None:
        avg = self._averager
        result = avg.add(fix)
        if result is None:
            self._say(tr("gps_averaging", got=len(avg.fixes), n=avg.n, skipped=avg.rejected), None)
            return
        self._averager = None
        self.average_button.setEnabled(True)
        self.cancel_average_button.setEnabled(False)
        pos = f"{result.lat:.6f}, {result.lon:.6f}"
        self._say(tr("gps_accepted_avg", n=result.count, pos=pos, m=format_number(result.accuracy_m, 1),
                     spread=format_number(result.spread_m, 1)), _GOOD)
        self.position_accepted.emit(result.lat, result.lon, result.metadata())

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)


__all__ = ["GpsPanel", "STALE_S"]
