"""Issue 20, the GPS dock as a surveyor uses it: nothing moves or gets cut as its message changes,
a refusal goes once the fix is good, and the source chosen is there again after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QLineEdit

from hatang_desktop.core import gps
from hatang_desktop.ui.gps_fix_view import GOOD, NONE
from hatang_desktop.ui.gps_panel import LOG, SERIAL, GpsPanel
from hatang_desktop.ui.strings import tr

from . import walk

WALK = Path(__file__).parent.parent / "data" / "walk_ha_tinh.nmea"
SCREEN = QRect(0, 0, 1366, 768)


@pytest.fixture(scope="module")
def fixes():
    return list(gps.read_log(WALK, parser=gps.NmeaParser("nmea-log:walk_ha_tinh.nmea")))


def _controls(panel) -> dict[str, QRect]:
    """Where each visible button, box and field of the dock is, in the dock's own coordinates."""
    found = {}
    for kind in (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit):
        for i, w in enumerate(panel.findChildren(kind)):
            if w.isVisible() and not isinstance(w.parent(), (QAbstractSpinBox, QComboBox)):
                name = w.text() if isinstance(w, QAbstractButton) and w.text() else f"{type(w).__name__}#{i}"
                found[name] = QRect(w.mapTo(panel, w.rect().topLeft()), w.size())
    return found


def _cut_labels(panel) -> list[str]:
    """Labels given less height than their text needs (a wrapped or two-line text loses lines)."""
    cut = []
    for label in panel.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        need = label.heightForWidth(label.width()) if label.wordWrap() else label.sizeHint().height()
        if label.height() < need:
            cut.append(f"{label.text()!r}: {label.height()} < {need}")
    return cut


def _type_threshold(panel, text: str) -> None:
    walk.clear_text(panel.threshold_spin)
    walk.type_into(panel.threshold_spin, text)
    walk.press(panel.threshold_spin, "Tab")


def _laptop_window(window, qtbot):
    frame, inner = window.frameGeometry(), window.geometry()
    window.setGeometry(SCREEN.adjusted(inner.left() - frame.left(), inner.top() - frame.top(),
                                       inner.right() - frame.right(), inner.bottom() - frame.bottom()))
    qtbot.wait(50)


def test_buttons_stay_put_and_nothing_is_cut_whatever_the_message(window, qtbot):
    _laptop_window(window, qtbot)
    window.gps_panel.toggleViewAction().trigger()  # Xem > Định vị GPS
    walk.settle(50)
    panel = window.gps_panel
    assert panel.isVisible()

    # A log replayed as the user starts it: the source, the file typed in, Bắt đầu.
    walk.choose(panel.source_combo, text=tr("gps_source_log"))
    walk.type_into(panel.log_edit, str(WALK))
    walk.settle(20)
    before = _controls(panel)  # no fix yet: every figure a dash
    assert panel.position_label.text() == "–" and not _cut_labels(panel)
    walk.click(walk.button(panel, tr("gps_start")))
    qtbot.waitUntil(lambda: panel.current_fix is not None and not panel.is_running(), timeout=10000)
    walk.settle(20)
    with_fix = _controls(panel)
    assert "\n" in panel.position_label.text() and "\n" in panel.time_label.text()
    assert not _cut_labels(panel), _cut_labels(panel)

    # A threshold the fix cannot meet: the long red refusal, four lines in the dock.
    _type_threshold(panel, "1")
    walk.click(walk.button(panel, tr("gps_use")))
    refusal = panel.message.text()
    assert "kém hơn ngưỡng 1,0 m" in refusal and NONE in panel.message.styleSheet()
    lines = panel.message.heightForWidth(panel.message.width()) // panel.message.fontMetrics().lineSpacing()
    assert lines >= 3, f"the refusal takes {lines} lines: the test wants a long one"
    walk.settle(20)
    refused = _controls(panel)
    assert not _cut_labels(panel), _cut_labels(panel)

    # Loosened: taken, a one-line green message.
    _type_threshold(panel, "25")
    walk.click(walk.button(panel, tr("gps_use")))
    assert panel.message.text().startswith("Đã dùng vị trí") and GOOD in panel.message.styleSheet()
    walk.settle(20)
    taken = _controls(panel)
    assert not _cut_labels(panel), _cut_labels(panel)

    for name, rect in before.items():
        moved = {state: grid[name] for state, grid in (("fix", with_fix), ("refused", refused), ("taken", taken))
                 if grid[name] != rect}
        assert not moved, f"{name} at {rect} moved: {moved}"
    panel.stop()


def test_a_short_dock_scrolls_instead_of_cutting_lines(qtbot, fixes):
    panel = GpsPanel()
    qtbot.addWidget(panel)
    panel.resize(360, 300)  # far less than the dock's content
    panel.show()
    panel.feed(fixes[-1])
    panel.max_accuracy_m = 1.0
    walk.click(panel.use_button)
    walk.settle(20)
    assert not _cut_labels(panel), _cut_labels(panel)
    assert panel.widget().verticalScrollBar().isVisible()


def test_a_refusal_goes_when_the_fix_becomes_good(qtbot, fixes):
    panel = GpsPanel()
    qtbot.addWidget(panel)
    panel.resize(360, 700)
    panel.show()
    poor = next(f for f in fixes if f.has_position and f.accuracy_m > 10)
    good = next(f for f in fixes if f.has_position and f.accuracy_m <= 10)
    panel.feed(poor)
    walk.click(walk.button(panel, tr("gps_use")))
    assert "kém hơn ngưỡng" in panel.message.text() and NONE in panel.message.styleSheet()
    panel.feed(poor)  # still poor: the reason stays
    assert "kém hơn ngưỡng" in panel.message.text()
    panel.feed(good)  # the receiver sends a good fix: the red text would now be wrong
    assert "kém hơn" not in panel.message.text() and NONE not in panel.message.styleSheet()
    assert "đạt ngưỡng" in panel.message.text() and GOOD in panel.message.styleSheet()
    with qtbot.waitSignal(panel.position_accepted):
        walk.click(walk.button(panel, tr("gps_use")))


def test_the_chosen_source_is_there_after_a_restart(qtbot, tmp_path):
    log = tmp_path / "duong_di.nmea"
    log.write_bytes(WALK.read_bytes())
    first = GpsPanel()
    qtbot.addWidget(first)
    first.show()
    walk.choose(first.source_combo, text=tr("gps_source_log"))
    walk.type_into(first.log_edit, str(log))
    walk.click(walk.button(first, tr("gps_start")))
    qtbot.waitUntil(lambda: not first.is_running() and first.current_fix is not None, timeout=10000)
    first.close()

    again = GpsPanel()  # the next start of the program
    qtbot.addWidget(again)
    again.show()
    assert again.source_combo.currentIndex() == LOG and again.log_edit.text() == str(log)
    assert again.log_edit.isVisible()

    # A receiver on a port (a pyserial URL here) at 4800 baud, chosen and started the same way.
    walk.choose(again.source_combo, text=tr("gps_source_serial"))
    walk.clear_text(again.port_combo.lineEdit())
    walk.type_into(again.port_combo.lineEdit(), "loop://")
    walk.choose(again.baud_combo, 4800)
    walk.click(walk.button(again, tr("gps_start")))
    walk.click(walk.button(again, tr("gps_stop")))
    again.close()

    third = GpsPanel()
    qtbot.addWidget(third)
    third.show()
    assert third.source_combo.currentIndex() == SERIAL and third.port_combo.currentText() == "loop://"
    assert third.baud_combo.currentData() == 4800


def test_log_files_and_ports_are_told_apart(tmp_path):
    assert gps.is_log_source(str(tmp_path / "walk.nmea")) and gps.is_log_source("C:\\GPS\\ngay1.txt")
    other = tmp_path / "ghi_lai"
    other.write_text("$GPGGA")
    assert gps.is_log_source(str(other))  # no suffix, but a file that is there
    for port in ("COM3", "com12", "/dev/ttyUSB0", "socket://192.168.1.5:11123", "loop://", ""):
        assert not gps.is_log_source(port), port


def test_the_source_typed_in_settings_is_the_dock_s(window, tmp_path):
    """Settings (Ctrl+,) holds the same source: typed there, the dock shows it at once."""
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    log = tmp_path / "ngay_2.nmea"
    walk.activate(window)
    walk.press(window, "Ctrl+,")
    dialog = QApplication.activeModalWidget()
    walk.type_into(dialog.user, "Lê Thị Hoa")
    walk.type_into(dialog.gps_source, str(log))
    walk.click(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok))
    panel = window.gps_panel
    assert panel.source_combo.currentIndex() == LOG and panel.log_edit.text() == str(log)
