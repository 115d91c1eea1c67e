"""Every QAction of the main window, triggered the way a person triggers it.

Until a9e77ae every add and geometry tool crashed under PySide6 6.11.3 as soon as its QAction was
triggered (a `functools.partial` slot called with no argument), and no test saw it because the tests
called the methods behind the buttons. Here nothing is called behind a button: each action of the
menu bar (recursively, the recent files included), of the toolbars, of the window and of the map is
triggered in turn (checkable ones on, then off), and the tool actions once more by their keyboard
shortcuts. Whatever opens is closed: modal dialogs (a blocking exec() or an open()) by a timer,
new top-level windows after the action returns; file dialogs are stubbed to "cancel" so no native
dialog can block. The test fails on any exception raised in a slot (pytest-qt's capture, kept on,
and reported per action), on any modal dialog an action leaves open, and on any action never
triggered.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QApplication, QDialog, QDockWidget, QFileDialog, QMenu, QToolBar, QWidget,
                               QWidgetAction)

from hatang_desktop.ui.jobs import wait_all

WAIT_MS = 60_000


# --------------------------------------------------------------------------- helpers (this file only)


class FileDialogs:
    """Every file dialog answers "cancel" ("" or []) without showing anything, unless the test queued
    an answer (`answers`); `calls` logs which dialogs the app asked for.

    The app's file dialogs go through hatang_desktop/ui/file_dialogs.py (older trees: QFileDialog's
    static functions); both are patched. A dialog shown any other way is a modal QFileDialog, which
    the ModalCloser rejects.
    """

    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        self.answers: list[str] = []
        for name, empty in (("getOpenFileName", ""), ("getSaveFileName", ""), ("getOpenFileNames", [])):
            monkeypatch.setattr(QFileDialog, name, staticmethod(self._answer(name, empty, pair=True)))
        monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                            staticmethod(self._answer("getExistingDirectory", "", pair=False)))
        _stub_file_dialogs_helper(monkeypatch, self)

    def _answer(self, name, empty, pair):
        def fn(*_args, **_kwargs):
            self.calls.append(name)
            value = self.answers.pop(0) if self.answers else empty
            if isinstance(empty, list) and isinstance(value, str):
                value = [value] if value else []
            return (value, "") if pair else value
        return fn


def _stub_file_dialogs_helper(monkeypatch, dialogs: FileDialogs) -> None:
    """ui/file_dialogs.py (where the app's file dialogs go since the SQLite lock fix; absent in older
    trees): its functions, called through the module, answer like QFileDialog's statics."""
    try:
        from hatang_desktop.ui import file_dialogs
    except ImportError:
        return
    for name, empty in (("open_file_name", ""), ("open_file_names", []), ("save_file_name", "")):
        if hasattr(file_dialogs, name):
            monkeypatch.setattr(file_dialogs, name, dialogs._answer(name, empty, pair=True))


def describe(widget: QWidget) -> str:
    return f"{type(widget).__name__}({widget.windowTitle()!r})"


def close_window(widget: QWidget) -> None:
    if isinstance(widget, QDialog):
        widget.done(QDialog.DialogCode.Rejected)
    else:
        widget.close()


class ModalCloser(QObject):
    """Every 25 ms: reject the active modal widget (a message box, a form exec()'d by a tool, a
    settings dialog opened with open()), so no action blocks the test in a nested event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.closed: list[str] = []
        self.timer = QTimer(self)
        self.timer.setInterval(25)
        self.timer.timeout.connect(self.sweep)
        self.timer.start()

    def sweep(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is not None and modal.isVisible():
            self.closed.append(describe(modal))
            close_window(modal)

    def take(self) -> list[str]:
        out, self.closed = self.closed, []
        return out


def visible_windows() -> set[QWidget]:
    return {w for w in QApplication.topLevelWidgets()
            if w.isVisible() and not isinstance(w, QMenu)
            and w.windowType() not in (Qt.WindowType.ToolTip, Qt.WindowType.Popup)}


def label(action: QAction) -> str:
    text = action.text().replace("&", "")
    if not text and isinstance(action, QWidgetAction) and action.defaultWidget() is not None:
        text = type(action.defaultWidget()).__name__
    keys = action.shortcut().toString()
    return f"{text} [{keys}]" if keys else text


def collect_actions(window) -> list[QAction]:
    """The menu bar (recursively; every menu opened first, as a person does, so the recent files
    are listed), the toolbars, window.actions(), the canvas's actions, the docks' toggles."""
    seen: dict[int, QAction] = {}

    def add(action: QAction) -> None:
        if action is not None and not action.isSeparator() and id(action) not in seen:
            seen[id(action)] = action

    def walk(menu: QMenu) -> None:
        menu.popup(window.mapToGlobal(window.rect().center()))  # aboutToShow: the recent files fill
        menu.hide()
        for act in menu.actions():
            add(act)
            if act.menu() is not None:
                walk(act.menu())

    for act in window.menuBar().actions():
        add(act)
        if act.menu() is not None:
            walk(act.menu())
    for bar in window.findChildren(QToolBar):
        add(bar.toggleViewAction())
        for act in bar.actions():
            add(act)
    for act in window.actions():
        add(act)
    for act in window.canvas.actions():
        add(act)
    for dock in window.findChildren(QDockWidget):
        add(dock.toggleViewAction())
    return list(seen.values())


class ActionRun:
    """Triggers actions one at a time and records what each did wrong."""

    def __init__(self, qtbot, window) -> None:
        self.qtbot, self.window = qtbot, window
        self.closer = ModalCloser()
        self.failures: list[str] = []
        self.opened: dict[str, list[str]] = {}
        self.fired: set[int] = set()

    def watch(self, actions) -> None:
        for act in actions:
            act.triggered.connect(lambda _checked=False, key=id(act): self.fired.add(key))

    def settle(self) -> None:
        """Let queued work finish: background loads, dashboard jobs, single-shot timers."""
        QThreadPool.globalInstance().waitForDone(WAIT_MS)
        wait_all(WAIT_MS / 1000)   # the background jobs (ui/jobs.py: imports, exports, checks, dashboard)
        self.qtbot.wait(60)

    def step(self, name: str, do) -> None:
        before = visible_windows()
        with self.qtbot.captureExceptions() as exceptions:
            do()
            self.settle()
            opened = self.closer.take()
            for w in visible_windows() - before:
                if w is self.window:
                    continue
                opened.append(describe(w))
                close_window(w)
                w.deleteLater()
            self.qtbot.wait(30)
            active = QApplication.activeWindow()
            if (active is None or not active.isVisible()) and self.window.isVisible():
                # A desktop's window manager activates the main window again when a dialog
                # closes; the offscreen platform leaves the closed dialog active (or none), so
                # no key would reach the main window.
                self.window.activateWindow()
                self.qtbot.waitUntil(lambda: QApplication.activeWindow() is self.window)
        self.opened[name] = opened
        for _type, value, _tb in exceptions:
            self.failures.append(f"{name}: {type(value).__name__}: {value}")
        modal = QApplication.activeModalWidget()
        if modal is not None:
            # The closer had its chance for the whole step: this one does not close.
            self.failures.append(f"{name}: left a modal dialog open: {describe(modal)}")
            modal.hide()
            modal.deleteLater()

    def trigger(self, action: QAction) -> None:
        self.step(label(action), action.trigger)


def _confirm_one_finding(qtbot, window) -> None:
    """A status change through the findings dock (row clicked, button pressed): one command on the
    undo stack, so that Undo and Redo are enabled when their turn comes."""
    panel = window.findings_panel
    panel.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: panel.proxy.rowCount() > 0, timeout=WAIT_MS)
    panel.set_filter("status", "open")
    table = panel.table
    rect = table.visualRect(panel.proxy.index(0, 2))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseClick(panel.status_buttons["confirmed"], Qt.MouseButton.LeftButton)
    assert window.editor.stack.count() == 1 and window.editor.act_undo.isEnabled()
    panel.toggleViewAction().trigger()  # hidden again: its toggle has its own turn


def _map_point(window, x: float, y: float):
    canvas = window.canvas
    return canvas.mapFromScene(canvas.view.mapViewToScene(QPointF(x, y)))


def _identify_a_site(qtbot, window) -> None:
    """Click a site on the map, so that Edit attributes (F2) and Delete act on something."""
    canvas = window.canvas
    sites = canvas.layers["sites"].data
    x, y = float(sites.x[5]), float(sites.y[5])
    canvas.view.setRange(xRange=(x - 400, x + 400), yRange=(y - 400, y + 400), padding=0)
    qtbot.wait(20)
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=_map_point(window, x, y))
    assert window.identify_panel.feature is not None and window.identify_panel.feature.table == "sites"


def _basemap_file(tmp_path, window):
    from hatang_desktop.core.mbtiles import tiles_in_view, write_mbtiles
    from tests.core.test_mbtiles import solid_png

    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    tiles = {(k.z, k.x, k.y): solid_png((40, 160, 40), 64) for k in tiles_in_view(9, x0, y0, x1, y1)}
    return write_mbtiles(tmp_path / "nen.mbtiles", tiles)


# --------------------------------------------------------------------------- the test


def test_every_action_of_the_main_window_triggers_without_error(window, qtbot, monkeypatch, tmp_path, request):
    dialogs = FileDialogs(monkeypatch)
    run = ActionRun(qtbot, window)
    # The closer must not outlive the test: the window's actions keep `run` alive, and its timer
    # would go on rejecting the next tests' dialogs.
    request.addfinalizer(run.closer.timer.stop)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)

    actions = collect_actions(window)
    names = [label(a) for a in actions]
    # The collection reaches every place an action lives (so a new menu cannot hide from this test).
    for must in ("Mở cơ sở dữ liệu…", "1 sample.db", "Thoát", "Hoàn tác", "Thêm trạm BTS", "Dời điểm",
                 "Xuất sổ Excel…", "Vi phạm", "Chỉ tiêu hạ tầng số", "Thiết lập…", "Tắt bản đồ nền"):
        assert any(n.startswith(must) for n in names), (must, names)
    run.watch(actions)
    recent = [a for a in actions if a.parent() is window.comfort.recent_menu and a.text()[:1] == "&"]
    quit_action = window.act_quit

    # Something for the actions that wait for it: a basemap (Close basemap), an identified site
    # (Edit attributes, Delete), a change on the undo stack (Undo, then Redo).
    dialogs.answers.append(str(_basemap_file(tmp_path, window)))
    run.trigger(window.act_open_basemap)
    assert window.act_close_basemap.isEnabled()
    _confirm_one_finding(qtbot, window)
    _identify_a_site(qtbot, window)

    # Passes until nothing more becomes enabled (Zoom to selection waits for Select all in view).
    # Checkable actions are triggered twice: on, then off again. Undo and Redo (they redraw the map,
    # which ends the selection), the recent files (they reopen the database, which empties the
    # undo stack) and Quit come after, in that order.
    undo, redo = window.editor.act_undo, window.editor.act_redo
    later = {id(a) for a in (undo, redo, quit_action, *recent)}
    pending = [a for a in actions if id(a) not in later]
    while True:
        enabled = [a for a in pending if a.isEnabled()]
        if not enabled:
            break
        for act in enabled:
            if not act.isEnabled():  # an earlier action of this pass disabled it
                continue
            run.trigger(act)
            if act.isCheckable():
                run.step(label(act) + " (again)", act.trigger)
        pending = [a for a in pending if id(a) not in run.fired]
    run.trigger(undo)
    assert window.editor.stack.index() == 0 and redo.isEnabled()
    run.trigger(redo)
    assert window.editor.stack.index() == 1
    for act in recent:
        with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS) as loaded:
            run.trigger(act)
        assert loaded.args == [True]
    assert not run.failures, "\n".join(run.failures)

    # The tool actions by their keys: Ctrl+1..4 to the window, M and V to the focused map.
    canvas, editor = window.canvas, window.editor
    for key, mode in ((Qt.Key.Key_1, "add_sites"), (Qt.Key.Key_2, "add_poles"), (Qt.Key.Key_3, "draw_route"),
                      (Qt.Key.Key_4, "add_findings")):
        run.step(f"Ctrl+{key.name[-1]}", lambda k=key: qtbot.keyClick(window, k, Qt.KeyboardModifier.ControlModifier))
        assert editor.mode == mode, (key, editor.mode)
    canvas.setFocus()
    qtbot.waitUntil(canvas.hasFocus)
    for key, mode in ((Qt.Key.Key_M, "move"), (Qt.Key.Key_V, "vertices")):
        run.step(key.name[-1], lambda k=key: qtbot.keyClick(canvas, k))
        assert editor.mode == mode, (key, editor.mode)
    run.step("Esc", lambda: qtbot.keyClick(canvas, Qt.Key.Key_Escape))
    assert editor.mode is None

    # A route drawn with the mouse: Backspace removes the last vertex, Enter opens the form (rejected
    # by the closer), Esc ends the tool. These three actions are enabled only while drawing.
    (x0, x1), (y0, y1) = canvas.view.viewRange()
    points = [(x0 + (x1 - x0) * f, y0 + (y1 - y0) * 0.5) for f in (0.3, 0.45, 0.6)]
    run.step("Ctrl+3 (draw)", lambda: qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier))
    for x, y in points:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=_map_point(window, x, y))
        qtbot.wait(QApplication.doubleClickInterval() + 50)  # three single clicks, not a double-click
    assert len(editor.route_points) == 3
    canvas.setFocus()
    run.step("Backspace", lambda: qtbot.keyClick(canvas, Qt.Key.Key_Backspace))
    assert len(editor.route_points) == 2
    run.step("Enter", lambda: qtbot.keyClick(canvas, Qt.Key.Key_Return))
    assert any("FormDialog" in w for w in run.opened["Enter"]), run.opened["Enter"]
    run.step("Esc (draw)", lambda: qtbot.keyClick(canvas, Qt.Key.Key_Escape))
    assert editor.mode is None

    # Quit last: it closes the window (and nothing else: the test run goes on).
    run.trigger(quit_action)
    assert not window.isVisible()

    assert not run.failures, "\n".join(run.failures)
    # Kết nối lại is for a server database only: tests/ui/test_server_app.py triggers it there.
    never = [label(a) for a in actions if id(a) not in run.fired and a is not window.act_reconnect]
    assert never == [], f"actions never enabled, so never triggered: {never}"
    # Actions that must have shown something (a button that does nothing fails here).
    shown = {name: what for name, what in run.opened.items() if what}
    for name, kind in (("Giới thiệu", "QMessageBox"), ("Thiết lập…", "SettingsDialog"),
                       ("Xuất sổ Excel…", "ExcelExportDialog"), ("Nhập sổ Excel…", "ExcelImportDialog"),
                       ("Xung đột…", "ConflictDialog"), ("Nhập dữ liệu GIS…", "GisImportDialog"),
                       ("Xuất dữ liệu GIS…", "GisExportDialog"), ("Sửa thuộc tính…", "FormDialog"),
                       ("Xóa đối tượng…", "QMessageBox"), ("Tải bản đồ nền…", "BasemapDownloadDialog")):
        assert any(kind in w for k, what in shown.items() if k.startswith(name) for w in what), (name, shown)
    # Open, Open basemap and Import Excel ask for a file to open; Export map for one to write.
    opens = sum(c in ("open_file_name", "getOpenFileName") for c in dialogs.calls)
    assert opens >= 3 and {"save_file_name", "getSaveFileName"} & set(dialogs.calls), dialogs.calls
