"""Driving the window as a person does: key sequences, mouse clicks and drags at map positions,
typing, picking from combo boxes, pressing buttons, and acting inside a modal dialog once it opens.

Nothing here calls the methods behind a button or a shortcut: every step is a Qt input event
(through QTest, which also runs Qt's shortcut map first, as a real key press does), so a slot that
crashes or a shortcut that is not wired fails the walk. Map positions are longitude/latitude and go
to a viewport pixel through pyqtgraph's own mapping (view -> scene -> viewport).

Typing: `qtbot.keyClicks` aborts Qt on a non-ASCII character, so `type_into` sends ASCII through
QTest (shortcut override included: a window-wide single-letter shortcut would steal it, as it
would from a user) and anything else as one QKeyEvent carrying the character.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QApplication, QCheckBox, QComboBox, QDialog, QScrollArea,
                               QWidget)

from hatang_desktop.core.geo.projection import lonlat_to_mercator

LEFT = Qt.MouseButton.LeftButton
RIGHT = Qt.MouseButton.RightButton
NO_MOD = Qt.KeyboardModifier.NoModifier
MOVE_GAP_MS = 25  # pyqtgraph drops mouse moves closer than 10 ms apart (mouseRateLimit = 100/s); a drag
# takes ~0.2 s, about what a quick hand takes
MODAL_TIMEOUT_S = 10.0


def settle(ms: int = 0) -> None:
    """Let queued events and zero timers run (what happens between two human actions)."""
    QApplication.processEvents()
    if ms:
        QTest.qWait(ms)


# -- focus and keys ------------------------------------------------------------------------------


def activate(window: QWidget) -> None:
    """Bring the window to the front and make it active: shortcuts only fire in the active window."""
    window.raise_()
    window.activateWindow()
    deadline = time.monotonic() + 5
    while QApplication.activeWindow() is not window.window() and time.monotonic() < deadline:
        settle(10)
    assert QApplication.activeWindow() is window.window(), "the window did not become active"


def _key_target(widget: QWidget) -> QWidget:
    """Where a key goes: the focused widget of the widget's window (as the keyboard does), else it."""
    focus = QApplication.focusWidget()
    if focus is not None and focus.window() is widget.window():
        return focus
    return widget


def press(widget: QWidget, sequence: str | QKeySequence) -> None:
    """Press a key sequence ("Ctrl+1", "M", "Return", "Ctrl+Shift+Z") in `widget`'s window, to
    whatever has the keyboard focus there. Goes through Qt's shortcut map like a real key press."""
    seq = sequence if isinstance(sequence, QKeySequence) else QKeySequence(sequence)
    assert seq.count() > 0, f"not a key sequence: {sequence!r}"
    target = _key_target(widget)
    for i in range(seq.count()):
        combo = seq[i]
        QTest.keyClick(target, combo.key(), combo.keyboardModifiers())
        target = _key_target(widget)  # a key can move the focus (or open a window)


def type_into(widget: QWidget, text: str) -> None:
    """Click into a text field and type `text`, one key per character (Vietnamese included)."""
    click(widget)
    for ch in text:
        if ch.isascii() and ch.isprintable():
            QTest.keyClick(widget, ch)
        else:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(widget, QKeyEvent(kind, 0, NO_MOD, ch))
    settle()


def clear_text(widget: QWidget) -> None:
    """Select everything in a text field and delete it, from the keyboard."""
    click(widget)
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(widget, Qt.Key.Key_Delete)


# -- widgets -------------------------------------------------------------------------------------


def scroll_to(widget: QWidget) -> None:
    """Scroll every scroll area holding `widget` so that it shows, as a user scrolls to a field."""
    parent = widget.parentWidget()
    while parent is not None:
        area = parent.parentWidget()
        if isinstance(area, QScrollArea) and parent is area.viewport():
            area.ensureWidgetVisible(widget)
        parent = parent.parentWidget()


def click(widget: QWidget, button=LEFT, pos: QPoint | None = None) -> None:
    """A mouse click on a widget (its centre unless `pos`), after scrolling it into view."""
    assert widget.isVisible(), f"{widget!r} is not visible"
    assert widget.isEnabled(), f"{widget!r} is disabled"
    scroll_to(widget)
    QTest.mouseClick(widget, button, NO_MOD, pos if pos is not None else widget.rect().center())
    settle()


def button(parent: QWidget, text: str) -> QAbstractButton:
    """The visible button showing `text` (mnemonic '&' ignored) inside `parent`."""
    want = text.replace("&", "")
    found = [b for b in parent.findChildren(QAbstractButton)
             if b.text().replace("&", "") == want and b.isVisibleTo(parent)]
    assert len(found) == 1, f"{len(found)} buttons {text!r} in {parent!r}: " \
                            f"{[b.text() for b in parent.findChildren(QAbstractButton)]}"
    return found[0]


def check(box: QCheckBox, on: bool = True) -> None:
    """Tick (or untick) a check box by clicking it, when it is not already so."""
    if box.isChecked() != on:
        click(box)
    assert box.isChecked() == on


def choose(combo: QComboBox, data=None, *, text: str | None = None) -> None:
    """Pick the item with `data` (or showing `text`) as a user does: click the combo box to open its
    list, then click the item in the list."""
    i = combo.findText(text) if text is not None else combo.findData(data)
    assert i >= 0, f"no item {text if text is not None else data!r} in the list: " \
                   f"{[combo.itemText(k) for k in range(combo.count())]}"
    click(combo)
    view = combo.view()
    popup = view.window()
    assert popup.isVisible(), "the list did not open"
    # Qt ignores a release that comes within a double-click interval of the click that opened the
    # list (it takes it for the end of a press-drag-release): a person's second click comes later.
    settle(QApplication.doubleClickInterval() + 30)
    index = view.model().index(i, combo.modelColumn(), combo.rootModelIndex())
    # The popup may still scroll to the current item after it shows (a queued layout, slow under
    # load): aim only once the item under the pointer is the one wanted, as a person's eye does.
    # Centred: a pointer resting by the list's edge makes a long popup scroll by itself (its
    # scroller arrows), and the click then lands on the neighbour.
    for _ in range(20):
        view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        settle(20)
        centre = view.visualRect(index).center()
        if view.indexAt(centre) == index:
            break
    QTest.mouseMove(view.viewport(), centre)
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, centre)
    settle()
    assert not popup.isVisible(), "the list stayed open"
    assert combo.currentIndex() == i, f"picked {combo.currentText()!r}, wanted {combo.itemText(i)!r}"


# -- modal dialogs -------------------------------------------------------------------------------


class WhenModal:
    """Acts inside the next modal dialog that opens (once it shows), while the code that opened it
    is blocked in `exec()`. An error in `act` closes that dialog (so the walk does not hang) and
    is raised again by `done()`; so is a dialog that never opened."""

    def __init__(self, act: Callable[[QDialog], object], timeout_s: float = MODAL_TIMEOUT_S) -> None:
        self.act = act
        self.before = QApplication.activeModalWidget()
        self.window_before = QApplication.activeWindow()
        self.deadline = time.monotonic() + timeout_s
        self.dialog: QDialog | None = None
        self.result = None
        self.error: BaseException | None = None
        self.finished = False
        QTimer.singleShot(0, self._poll)

    def _poll(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not self.before and modal.isVisible():
            self.dialog = modal
            try:
                self.result = self.act(modal)
            except BaseException as exc:  # noqa: BLE001 - handed to done(), the dialog must close
                self.error = exc
                if modal.isVisible():
                    modal.reject()
            self.finished = True
            return
        if time.monotonic() > self.deadline:
            self.finished = True
            return
        QTimer.singleShot(20, self._poll)

    def done(self):
        """After the blocking step: the dialog was there and `act` went through; its return value."""
        deadline = self.deadline + 1
        while not self.finished and time.monotonic() < deadline:
            settle(10)
        # A window manager gives the keyboard back to the window under a dialog that closed; Qt's
        # offscreen platform leaves no window active (and every shortcut dead) until told.
        if (self.window_before is not None and self.window_before.isVisible()
                and QApplication.activeModalWidget() in (None, self.window_before)):
            activate(self.window_before)
        if self.error is not None:
            raise self.error
        assert self.dialog is not None, "no modal dialog opened"
        return self.result


def when_modal(act: Callable[[QDialog], object], timeout_s: float = MODAL_TIMEOUT_S) -> WhenModal:
    """Start waiting for the next modal dialog; call this *before* the step that opens it."""
    return WhenModal(act, timeout_s)


# -- the map -------------------------------------------------------------------------------------


def map_pixel(window, lon: float, lat: float) -> QPoint:
    """The canvas viewport pixel that shows (lon, lat)."""
    canvas = window.canvas
    x, y = lonlat_to_mercator(lon, lat)
    scene = canvas.view.mapViewToScene(QPointF(float(x), float(y)))
    pixel = canvas.mapFromScene(scene)
    assert canvas.viewport().rect().contains(pixel), f"({lon}, {lat}) is off the map view at {pixel}"
    return pixel


def pixel_lonlat(window, pixel: QPoint) -> tuple[float, float]:
    """The (lon, lat) a viewport pixel shows (what a click there means to the map)."""
    from hatang_desktop.core.geo.projection import mercator_to_lonlat

    canvas = window.canvas
    p = canvas.view.mapSceneToView(canvas.mapToScene(pixel))
    lon, lat = mercator_to_lonlat(p.x(), p.y())
    return float(lon), float(lat)


def click_map(window, lon: float, lat: float, button=LEFT, double: bool = False, modifiers=NO_MOD) -> QPoint:
    """Click the map at (lon, lat) (the canvas takes the keyboard focus, as for a user), with
    `modifiers` held (Ctrl...). Returns the pixel."""
    pixel = map_pixel(window, lon, lat)
    viewport = window.canvas.viewport()
    if modifiers == NO_MOD:
        QTest.mouseMove(viewport, pixel)
    else:  # QTest.mouseMove carries no modifiers
        _mouse(viewport, QEvent.Type.MouseMove, pixel, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, modifiers)
    settle(MOVE_GAP_MS)
    QTest.mouseClick(viewport, button, modifiers, pixel)
    if double:
        # What the platform delivers for the second click of a double-click: press, double-click,
        # release. (QTest.mouseDClick on a widget sends the double-click event alone.)
        QTest.mousePress(viewport, button, NO_MOD, pixel)
        _mouse(viewport, QEvent.Type.MouseButtonDblClick, pixel, button, button)
        QTest.mouseRelease(viewport, button, NO_MOD, pixel)
    settle()
    return pixel


def _mouse(viewport: QWidget, kind: QEvent.Type, pixel: QPoint, button, buttons, modifiers=NO_MOD) -> None:
    local = QPointF(pixel)
    event = QMouseEvent(kind, local, QPointF(viewport.mapToGlobal(pixel)), button, buttons, modifiers)
    QApplication.sendEvent(viewport, event)


def hover_map(window, pixel: QPoint, modifiers=NO_MOD) -> None:
    """Rest the pointer on a viewport pixel of the map (no button), `modifiers` held."""
    _mouse(window.canvas.viewport(), QEvent.Type.MouseMove, pixel, Qt.MouseButton.NoButton,
           Qt.MouseButton.NoButton, modifiers)
    settle(MOVE_GAP_MS)


def drag_map(window, start: tuple[float, float], end: tuple[float, float], steps: int = 8,
             button=LEFT, modifiers=NO_MOD) -> tuple[QPoint, QPoint]:
    """Press at `start` (lon, lat), move in steps, release at `end`, `modifiers` held throughout
    (Ctrl...). Returns both pixels."""
    a, b = map_pixel(window, *start), map_pixel(window, *end)
    viewport = window.canvas.viewport()
    if modifiers == NO_MOD:
        QTest.mouseMove(viewport, a)
    else:
        _mouse(viewport, QEvent.Type.MouseMove, a, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, modifiers)
    settle(MOVE_GAP_MS)
    QTest.mousePress(viewport, button, modifiers, a)
    settle(MOVE_GAP_MS)
    for k in range(1, steps + 1):
        p = QPoint(round(a.x() + (b.x() - a.x()) * k / steps), round(a.y() + (b.y() - a.y()) * k / steps))
        _mouse(viewport, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, button, modifiers)
        settle(MOVE_GAP_MS)
    QTest.mouseRelease(viewport, button, modifiers, b)
    settle()
    return a, b


def metres_per_pixel(window) -> float:
    return window.canvas.metres_per_pixel()


def search_and_go(window, query: str) -> None:
    """Type `query` in the toolbar search, press Enter, take the first suggestion (Down, Enter):
    the map zooms to it and the identify panel shows it."""
    box = window.search_box
    type_into(box, query)
    press(box, "Return")
    settle(20)
    assert box.completer_.popup().isVisible(), f"no suggestion for {query!r}"
    press(box, "Down")
    press(box, "Return")
    settle(20)
