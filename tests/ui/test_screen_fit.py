"""Issue 15 item 4: at 1366x768, opening docks never pushes the window off the screen.

The window used to grow to hold its docks' minimum sizes (914 px tall with the dashboard, 1,590 px
with every dock open), putting the status bar and the findings list below the screen. Each dock
is opened here as a user does, through its menu action, on a window of the laptop's size.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QDockWidget, QMenu

SCREEN = QRect(0, 0, 1366, 768)


def _menu_action_of(window, dock: QDockWidget):
    """The menu entry that opens `dock`: every dock must be reachable from a menu."""
    toggle = dock.toggleViewAction()
    for menu in window.menuBar().findChildren(QMenu):
        if toggle in menu.actions():
            return toggle
    raise AssertionError(f"{dock.objectName()} is in no menu")


def _assert_fits(window, what: str) -> None:
    frame = window.frameGeometry()
    assert frame.width() <= SCREEN.width() and frame.height() <= SCREEN.height(), \
        f"after {what} the window is {frame.width()}x{frame.height()}"
    hint = window.minimumSizeHint()
    assert hint.width() <= SCREEN.width() and hint.height() <= SCREEN.height(), f"{what}: minimum {hint}"
    bar = window.statusBar()
    assert bar.isVisible(), what
    assert window.rect().contains(bar.geometry()), f"after {what} the status bar is at {bar.geometry()}"


def _laptop_size(window, qtbot) -> None:
    """The window as a maximized one on a 1366x768 screen: its frame is the screen."""
    frame, inner = window.frameGeometry(), window.geometry()
    window.setGeometry(SCREEN.adjusted(inner.left() - frame.left(), inner.top() - frame.top(),
                                       inner.right() - frame.right(), inner.bottom() - frame.bottom()))
    qtbot.wait(50)
    assert window.frameGeometry().size() == SCREEN.size()


def _fully_shown(widget) -> bool:
    """Not cut off by its dock or a scroll area: everything of it is on screen."""
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


def test_every_dock_open_fits_1366x768(window, qtbot):
    _laptop_size(window, qtbot)
    _assert_fits(window, "start")
    docks = window.findChildren(QDockWidget)
    names = {d.objectName() for d in docks}
    assert {"layer_panel", "identify_panel", "attribute_table", "history_dock", "gps_panel",
            "indicator_dashboard", "findings_panel"} <= names
    # The findings list last: it is the one whose rows are counted below.
    docks.sort(key=lambda d: d is window.findings_panel)
    for dock in docks:
        action = _menu_action_of(window, dock)
        if not action.isChecked():
            action.trigger()
        qtbot.wait(50)
        assert dock.toggleViewAction().isChecked()
        assert not dock.visibleRegion().isEmpty(), f"{dock.objectName()} opened behind another tab"
        _assert_fits(window, f"opening {dock.objectName()}")

    # The dashboard computes, then shows its controls uncut.
    dash = window.dashboard
    dash.raise_()
    qtbot.waitUntil(lambda: dash.report is not None, timeout=60000)
    qtbot.wait(50)
    for widget in (dash.scope_combo, dash.year_spin, dash.refresh_button, dash.tabs.tabBar()):
        assert _fully_shown(widget), widget
    _assert_fits(window, "computing the indicators")

    # The findings list, filled by a check, shows at least 8 rows at once.
    panel = window.findings_panel
    panel.raise_()
    with qtbot.waitSignal(panel.check_finished, timeout=120000) as blocker:
        panel.run_button.click()
    assert blocker.args[0] is not None
    qtbot.wait(50)
    assert panel.model.rowCount() >= 8
    rows = panel.table.viewport().height() / panel.table.rowHeight(0)
    assert rows >= 8, f"the findings list shows {rows:.1f} rows"
    for widget in (panel.run_button, *panel.status_buttons.values()):
        assert _fully_shown(widget), widget.text()
    _assert_fits(window, "the rule check")


def test_a_dock_opened_joins_its_group_as_the_front_tab(window, qtbot):
    _laptop_size(window, qtbot)
    window.gps_panel.toggleViewAction().trigger()
    qtbot.wait(50)
    # Tabbed with the identify panel, not stacked under it, and in front.
    assert window.identify_panel in window.tabifiedDockWidgets(window.gps_panel)
    assert not window.gps_panel.visibleRegion().isEmpty()
    assert window.identify_panel.visibleRegion().isEmpty()
    # Closed and opened again from the menu: in front again.
    window.gps_panel.toggleViewAction().trigger()
    window.identify_panel.raise_()
    qtbot.wait(50)
    window.gps_panel.toggleViewAction().trigger()
    qtbot.wait(50)
    assert not window.gps_panel.visibleRegion().isEmpty()
    _assert_fits(window, "reopening the GPS panel")
