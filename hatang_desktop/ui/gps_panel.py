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
    # while averaging: average_progress(got, n, skipped); averaging_stopped(reason) when it ends
    # without a position (cancelled: "", or the receiver moving: the warning shown in the dock)
    panel.add_section(widget)   # another feature's part (follow me) above the message; top=True: first

Other API: `start_log(path, pace=False)`, `start_serial(port, baudrate)`, `stop()`,
`feed(fix)` (show one fix; the reader thread calls it), `current_fix`, `max_accuracy_m`
(the threshold, default 10 m), signals `position_refused(str)`, `fix_changed(object)` and
`running_changed(bool)` (reading started or ended). `record_track_check` ("Ghi lộ trình",
remembered) and `track_label` belong to the track recorder (ui/track_recording.py).
A refusal is shown inside the dock in red (no modal box: the user is standing in a field), and
replaced by a green note as soon as a fix passes the gate.

Layout: the message sits under every button and the figures keep their heights (gps_fix_view.py),
so a message of any length moves no button; the body scrolls when the dock is shorter than it.
The source (port and baud rate, or log file) is the user's preference (ui/preferences.py,
also in Settings): filled in at start, saved when reading starts.

Reading runs on a QThread over the generators of core/gps.py; `stop()` ends it within a second.
A live receiver silent for more than STALE_S seconds makes its last fix unusable.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout,
                               QFrame, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from hatang_desktop.core import gps

from . import file_dialogs
from .gps_fix_view import GOOD as _GOOD, NONE as _NONE, POOR as _POOR, FixView
from .preferences import Preferences
from .strings import format_number, message_text, tr

STALE_S = 5.0
BAUD_RATES = (4800, 9600, 19200, 38400, 57600, 115200)
SERIAL, LOG = 0, 1
MESSAGE_LINES = 4  # room kept for the message: the longest refusal at the dock's usual width


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


class _VerticalScroll(QScrollArea):
    """Scrolls up and down only, and is never narrower than its content: a short dock scrolls
    instead of squeezing rows (which cut their second line), a narrow one is not allowed."""

    def __init__(self, body: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(body)

    def _bar(self) -> int:
        return self.verticalScrollBar().sizeHint().width()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self.widget().minimumSizeHint().width() + self._bar(), 120)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        hint = self.widget().sizeHint()
        return QSize(hint.width() + self._bar(), hint.height())


class GpsPanel(QDockWidget):
    position_accepted = Signal(float, float, dict)
    position_refused = Signal(str)
    fix_changed = Signal(object)
    average_progress = Signal(int, int, int)  # fixes taken, fixes wanted, fixes skipped
    averaging_stopped = Signal(str)  # why averaging ended without a position ("" when cancelled)
    running_changed = Signal(bool)

    def __init__(self, parent=None, *, max_accuracy_m: float | None = None):
        super().__init__(tr("dock_gps"), parent)
        self.setObjectName("gps_panel")
        self.current_fix: gps.Fix | None = None
        self._reader: _Reader | None = None
        self._live = False
        self._last_rx = 0.0
        self._fix_count = 0
        self._averager: gps.Averager | None = None
        self.last_average: gps.AveragedFix | None = None
        self._notice: str | None = None  # "refused" or "stale" while the message says so
        self._source_label = ""
        prefs = Preferences.load()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self._make_source_box())
        self.fix_view = FixView()
        layout.addWidget(self.fix_view)
        layout.addLayout(self._make_use_row(prefs.gps_accuracy_m if max_accuracy_m is None else max_accuracy_m))
        self._sections = layout
        # Last, under every button: however long it wraps, nothing above it moves.
        self.message = QLabel(tr("gps_idle"))
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMinimumHeight(MESSAGE_LINES * self.message.fontMetrics().lineSpacing())
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.setWidget(_VerticalScroll(body))
        for name in ("quality_label", "satellites_label", "hdop_label", "accuracy_label", "position_label",
                     "time_label", "bad_lines_label"):
            setattr(self, name, getattr(self.fix_view, name))
        self._stale_timer = QTimer(self)
        self._stale_timer.setInterval(1000)
        self._stale_timer.timeout.connect(self._check_stale)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)
        self.apply_preferences(prefs)
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
        grid.addLayout(self._make_track_row())
        self.refresh_ports()
        return box

    def _make_track_row(self) -> QVBoxLayout:
        rows = QVBoxLayout()
        self.record_track_check = QCheckBox(tr("gps_record_track"))
        self.record_track_check.setToolTip(tr("gps_record_track_tip"))
        self.record_track_check.setChecked(Preferences.load().gps_record_track)
        self.record_track_check.toggled.connect(self._remember_track_choice)
        row = QHBoxLayout()  # as wide as its text: a click beside it is not a click on it
        row.addWidget(self.record_track_check)
        row.addStretch(1)
        rows.addLayout(row)
        self.track_label = QLabel()
        self.track_label.setWordWrap(True)
        # A line kept for it from the start: the first breadcrumb's "đã lưu" moves nothing below.
        self.track_label.setMinimumHeight(self.track_label.fontMetrics().lineSpacing())
        rows.addWidget(self.track_label)
        return rows

    def _remember_track_choice(self, on: bool) -> None:
        prefs = Preferences.load()
        prefs.gps_record_track = on
        prefs.save()

    def _make_use_row(self, max_accuracy_m: float) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("gps_threshold")))
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.5, 100.0)
        self.threshold_spin.setDecimals(1)
        self.threshold_spin.setSuffix(" m")
        self.threshold_spin.setValue(max_accuracy_m)
        # The chip and the accuracy's colour say whether the fix passes: redrawn for a new threshold.
        self.threshold_spin.valueChanged.connect(lambda _v: self._show(self.current_fix))
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

    def add_section(self, widget: QWidget, *, top: bool = False) -> None:
        """Another feature's part of the dock, under the buttons and above the message; `top`
        puts it above everything (what the user reads while walking: Đi tới)."""
        self._sections.insertWidget(0 if top else self._sections.indexOf(self.message), widget)

    # -- settings ---------------------------------------------------------------------------

    @property
    def max_accuracy_m(self) -> float:
        return self.threshold_spin.value()

    @max_accuracy_m.setter
    def max_accuracy_m(self, value: float) -> None:
        self.threshold_spin.setValue(value)

    def apply_preferences(self, prefs: Preferences) -> None:
        """Show the remembered source (a log file or a port with its baud rate) and threshold."""
        source = prefs.gps_source.strip()
        if gps.is_log_source(source):
            self.source_combo.setCurrentIndex(LOG)
            self.log_edit.setText(source)
        elif source:
            self.source_combo.setCurrentIndex(SERIAL)
            self.port_combo.setEditText(source)
        baud = self.baud_combo.findData(prefs.gps_baud)
        if baud >= 0:
            self.baud_combo.setCurrentIndex(baud)
        self.threshold_spin.setValue(prefs.gps_accuracy_m)

    def _remember_source(self, source: str, baudrate: int | None = None) -> None:
        prefs = Preferences.load()
        prefs.gps_source = source
        if baudrate is not None:
            prefs.gps_baud = baudrate
        prefs.save()

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
        self._remember_source(str(path))
        parser = gps.NmeaParser(f"nmea-log:{path.name}")
        self._run(lambda stop, p: gps.read_log(path, pace=pace, speed=speed, stop=stop, parser=p), parser,
                  live=False, label=path.name)

    def start_serial(self, port: str, baudrate: int = 9600) -> None:
        self.source_combo.setCurrentIndex(SERIAL)
        self.port_combo.setEditText(port)
        baud = self.baud_combo.findData(baudrate)
        if baud >= 0:
            self.baud_combo.setCurrentIndex(baud)
        self._remember_source(port, baudrate)
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
        self._source_label = label
        self._say(tr("gps_running", source=label), None)
        reader.start()
        self.running_changed.emit(True)
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
        if reader is not None:
            self.running_changed.emit(False)

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
        self.running_changed.emit(False)
        if self._averager is not None:
            # No more fixes will come: a form waiting for the mean would wait for ever.
            avg, self._averager = self._averager, None
            self.average_button.setEnabled(True)
            self.cancel_average_button.setEnabled(False)
            reason = tr("gps_average_source_ended", got=len(avg.fixes), n=avg.n)
            self._say(reason, _NONE, "average_stopped")
            self.averaging_stopped.emit(reason)
            return
        if not self._live and self.current_fix is not None and self._averager is None:
            self._say(tr("gps_replay_done", fixes=self._fix_count), None)

    def _check_stale(self) -> None:
        age = time.monotonic() - self._last_rx
        if self._live and age > STALE_S:
            self._say(tr("gps_stale", s=int(age)), _POOR, "stale")

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
        elif self._notice == "stale":
            self._say(tr("gps_running", source=self._source_label), None)  # the receiver is back
        elif self._notice == "refused" and gps.refusal(fix, self.max_accuracy_m) is None:
            # The user was told why not; now it may be used, and the red text would say otherwise.
            self._say(tr("gps_fix_good_now", m=format_number(fix.accuracy_m, 1)), _GOOD)

    def _show(self, fix: gps.Fix | None) -> None:
        self.fix_view.show_fix(fix, self.max_accuracy_m)

    def _say(self, text: str, colour: str | None, notice: str | None = None) -> None:
        self._notice = notice
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour}; font-weight: bold" if colour else "")

    # -- using the position -------------------------------------------------------------------

    def _stale_reason(self) -> str | None:
        age = time.monotonic() - self._last_rx
        if self._live and self.current_fix is not None and age > STALE_S:
            return tr("gps_stale_refused", s=int(age))
        return None

    def _refuse(self, reason: str) -> bool:
        self._say(reason, _NONE, "refused")
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
        self.average_progress.emit(0, n, 0)

    def cancel_averaging(self) -> None:
        if self._averager is None:
            return
        self._averager = None
        self.average_button.setEnabled(True)
        self.cancel_average_button.setEnabled(False)
        self._say("", None)
        self.averaging_stopped.emit("")

    @property
    def averaging(self) -> bool:
        return self._averager is not None

    def _average_step(self, fix: gps.Fix) -> None:
        avg = self._averager
        try:
            result = avg.add(fix)
        except gps.ReceiverMoving as exc:
            self._averager = None
            self.average_button.setEnabled(True)
            self.cancel_average_button.setEnabled(False)
            self._say(message_text(exc), _NONE, "average_stopped")  # stays until the user acts again
            self.averaging_stopped.emit(message_text(exc))
            return
        if result is None:
            self._say(tr("gps_averaging", got=len(avg.fixes), n=avg.n, skipped=avg.rejected), None)
            self.average_progress.emit(len(avg.fixes), avg.n, avg.rejected)
            return
        self._averager = None
        self.last_average = result
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
