"""Docks that fit a 1366x768 laptop screen, however many the user opens.

Two things used to push the main window off the screen: a dock's minimum height is the sum of
its controls' (the GPS panel ~475 px, the dashboard ~710 px), and docks opened in the same area
were stacked, so their minimums added up and Qt grew the window to hold them (to 1,590 px with
every dock open). Here

- every dock's contents scroll (a frameless QScrollArea), so a dock's minimum is a few dozen
  pixels and a small dock shows a scroll bar instead of growing the window;
- docks of one group (the panels on the right; the lists below the map) open as tabs of the one
  already open instead of a new strip, and the dock just opened is brought to the front;
- a dock below the map that says OPEN_TALL = True (the findings list, which wants ten rows) gets
  the height it asks for when it opens, up to half the window.

A dock the user floated or dragged to another area is left where the user put it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractScrollArea, QDockWidget, QFrame, QMainWindow, QScrollArea

MAX_SHARE = 0.5  # of the window's height that a dock below the map takes when it opens
MAX_MIN_WIDTH = 600  # px: a dock is kept as wide as its controls up to this (the English dashboard
# needs 583); a wider one (the findings filters, 1,100) scrolls sideways below that width


class DockScrollArea(QScrollArea):
    """Scrolls a dock's contents. Its minimum height is a few dozen pixels (so docks never push the
    window off the screen), but its minimum width follows the contents' up to MAX_MIN_WIDTH: a
    panel as wide as its buttons needs no horizontal scroll bar."""

    def minimumSizeHint(self):  # noqa: N802 (Qt API)
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is not None:
            wanted = inner.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
            hint.setWidth(max(hint.width(), min(wanted, MAX_MIN_WIDTH)))
        return hint


def make_scrollable(dock: QDockWidget) -> None:
    """Put the dock's contents in a frameless scroll area (once; a view that scrolls already is
    left as it is)."""
    inner = dock.widget()
    if inner is None or isinstance(inner, QAbstractScrollArea):
        return
    area = DockScrollArea(dock)
    area.setObjectName(f"{dock.objectName() or 'dock'}_scroll")
    area.setWidgetResizable(True)  # fills the dock when there is room; scrolls when there is not
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    dock.setWidget(area)  # hides `inner` and takes it out of the dock's layout (not deleted)
    area.setWidget(inner)
    inner.show()


class DockLayout(QObject):
    """Keeps a main window's docks inside the window: see the module docstring."""

    def __init__(self, window: QMainWindow, groups: Iterable[Sequence[QDockWidget]]) -> None:
        super().__init__(window)
        self.window_ = window
        self.group_of: dict[QDockWidget, tuple[QDockWidget, ...]] = {}
        for group in groups:
            for dock in group:
                self.group_of[dock] = tuple(group)
        # The docks shown by the window's first show, or by a saved layout restored before it, are
        # where that layout put them; only a dock opened after that is placed here.
        self._settled = False
        self._dock_of: dict[QAction, QDockWidget] = {}
        for dock in window.findChildren(QDockWidget):
            make_scrollable(dock)
            action = dock.toggleViewAction()
            self._dock_of[action] = dock
            # Bound methods of this object, not lambdas: Qt drops the connections with either end.
            action.toggled.connect(self._open_changed)  # show() and close() from code
            action.triggered.connect(self._open_changed)  # the menu: after Qt's own slot showed the dock
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        if watched is self.window_ and event.type() == QEvent.Type.Show:
            self._settled = True  # the window's docks got their Show events before the window
            self.window_.removeEventFilter(self)
        return False

    def _open_changed(self, checked: bool) -> None:
        dock = self._dock_of.get(self.sender())
        # Hidden while checked: the menu's toggle, before Qt shows the dock (its triggered follows).
        if dock is None or not checked or not self._settled or dock.isHidden():
            return
        self.opened(dock)

    def opened(self, dock: QDockWidget) -> None:
        """A dock was just opened (menu, shortcut or code): tab it with its group, bring it to the
        front, and give it the height it asks for."""
        if not dock.isFloating():
            partner = self._partner(dock)
            if partner is not None:
                self.window_.tabifyDockWidget(partner, dock)
        if self.window_.tabifiedDockWidgets(dock):
            dock.raise_()
        # After the layout has placed the dock: its height is not known before.
        QTimer.singleShot(0, self, lambda d=dock: self._give_height(d))

    def _partner(self, dock: QDockWidget) -> QDockWidget | None:
        """An open dock of the same group in the same area that `dock` is not already tabbed with."""
        if self.window_.tabifiedDockWidgets(dock):
            return None
        area = self.window_.dockWidgetArea(dock)
        for other in self.group_of.get(dock, ()):
            if (other is not dock and other.toggleViewAction().isChecked() and not other.isFloating()
                    and self.window_.dockWidgetArea(other) == area):
                return other
        return None

    def _give_height(self, dock: QDockWidget) -> None:
        if dock.isFloating() or dock.isHidden():
            return
        area = self.window_.dockWidgetArea(dock)
        if area not in (Qt.DockWidgetArea.BottomDockWidgetArea, Qt.DockWidgetArea.TopDockWidgetArea):
            return
        if not getattr(dock, "OPEN_TALL", False):  # only a dock that asks (the findings list)
            return
        want = min(dock.sizeHint().height(), int(self.window_.height() * MAX_SHARE))
        if dock.height() < want:
            self.window_.resizeDocks([dock], [want], Qt.Orientation.Vertical)


__all__ = ["DockLayout", "DockScrollArea", "make_scrollable"]
