"""Issue 15 item 5: a crash report holds the whole traceback, the versions and the log's tail.

PySide6 6.11.3 hands an exception raised in a slot to sys.excepthook with the slot's traceback;
when the call itself fails (a slot connected with the wrong signature) there is no Python frame
and the traceback is None, which used to leave a one-line report. The errors here are raised in
real slots of the main window, through its menu actions, as a user's click raises them.

pytest-qt normally catches exceptions in slots and fails the test; these tests turn that off
(qt_no_exception_capture) so that the app's own handler sees them, and put the hooks back after.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading

import pytest
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction

from hatang_desktop.ui import crash_log, strings
from hatang_desktop.ui.app import crash_message_box


@pytest.fixture
def app_log():
    """The app's rotating log file, as at start, with 60 lines in it; removed afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    path = crash_log.setup_logging()
    log = logging.getLogger("hatang.test")
    for i in range(60):
        log.info("log line %03d: người dùng bấm nút", i)
    yield path
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def crash_handler(monkeypatch):
    """The app's crash handler, with the message box replaced by a list of what it was told."""
    shown = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(crash_log, "_installed", False)
    uninstall = crash_log.install_crash_handler(lambda path, exc: shown.append((path, exc)))
    yield shown
    uninstall()


def _reports():
    return sorted(crash_log.log_dir().glob("crash-*.log"))


def _assert_versions_and_tail(text: str) -> None:
    assert f"PySide6: {pyside_version}" in text and f"Qt: {qVersion()}" in text
    assert "Hạ tầng Desktop: " in text and "Python: " in text
    assert "Last 50 lines of the log" in text
    assert "log line 059: người dùng bấm nút" in text and "log line 010:" in text
    assert "log line 009:" not in text  # 50 lines: the 51st from the end is left out


@pytest.mark.qt_no_exception_capture
def test_a_slot_that_raises_gets_its_whole_traceback(window, app_log, crash_handler):
    def fail_deep(_factors):
        raise RuntimeError("cột không có tọa độ")

    window.canvas.view.scaleBy = fail_deep  # what View > Zoom in calls, two frames down
    window.act_zoom_in.trigger()

    [(path, exc)] = crash_handler
    assert isinstance(exc, RuntimeError)
    assert _reports() == [path]
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last):" in text
    assert "main_window.py" in text and "canvas.py" in text and "in zoom_by" in text
    assert "in fail_deep" in text and 'raise RuntimeError("cột không có tọa độ")' in text
    assert "RuntimeError: cột không có tọa độ" in text
    _assert_versions_and_tail(text)
    # The log says where the report is, after the lines the report holds.
    assert str(path) in app_log.read_text(encoding="utf-8")


@pytest.mark.qt_no_exception_capture
def test_a_slot_called_with_the_wrong_arguments_reports_where_it_was_caught(window, app_log, crash_handler):
    """The bug of issue 15: a functools.partial on QAction.triggered, called with no argument."""

    def tool_triggered(tool, checked):  # noqa: ARG001
        pass

    action = QAction("Công cụ thử", window)
    action.triggered.connect(functools.partial(tool_triggered, "add_site"))
    tools_menu = next(a.menu() for a in window.menuBar().actions() if a.menu() and a.text() == strings.tr("menu_tools"))
    tools_menu.addAction(action)
    action.trigger()

    [(path, exc)] = crash_handler
    text = path.read_text(encoding="utf-8")
    assert "missing 1 required positional argument: 'checked'" in text
    assert "no traceback of its own" in text
    assert "Python stack where the error was caught" in text
    # The stack names this test and its trigger() line: the code that emitted the signal.
    assert "test_a_slot_called_with_the_wrong_arguments_reports_where_it_was_caught" in text
    assert "action.trigger()" in text
    _assert_versions_and_tail(text)


def test_the_message_is_one_sentence_with_the_path_and_no_traceback(tmp_path, qtbot):
    path = tmp_path / "logs" / "crash-20260101-120000.log"
    try:
        raise RuntimeError("cột không có tọa độ\nSQL: SELECT …\nmore detail")
    except RuntimeError as exc:
        error = exc
    for lang in ("vi", "en"):
        strings.set_language(lang)
        box = crash_message_box(path, error)
        qtbot.addWidget(box)
        text = box.text()
        assert str(path) in text and "RuntimeError: cột không có tọa độ" in text
        assert "\n" not in text and "Traceback" not in text and "SQL" not in text
        assert text.count(". ") == 0 and text.rstrip().endswith(".")  # one sentence
        assert box.detailedText() == ""
        assert text.startswith("Đã xảy ra lỗi" if lang == "vi" else "An unexpected error")
