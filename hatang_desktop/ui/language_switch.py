"""Switching the UI's language while the program runs (Settings > Ngôn ngữ).

Every text of the window is set when its widget is built (menus, toolbars, docks, status bar,
the dialogs each dock owns), so the window is built again in the new language rather than each
widget retranslated by hand: nothing can be missed, and a new dock needs no retranslate code.
The new window takes over what the user had: the open database (the same connection: no reopen,
no second lock), the map view, the selection, the docks and toolbars where they were, the
basemap. The undo history stays with the old window (a rebuilt stack would undo through the
other language's descriptions); the change log keeps every change.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from . import qt_vietnamese, strings
from .loader import read_open_database, target_of

# The window the app runs: a rebuilt window has no other owner on the Python side.
_current: list = []


def current_window():
    """The main window after the last switch (None before any)."""
    return _current[-1] if _current else None


def switch_language(window, lang: str):
    """Set the UI's language to `lang` and return the main window showing it: `window` itself
    when nothing changes, else a new window that replaced it (the old one is closed)."""
    if lang == strings.language():
        return window
    strings.set_language(lang)
    app = QApplication.instance()
    qt_vietnamese.install(app, lang)  # Qt's own buttons and dialogs (OK, Cancel...)
    return rebuild(window)


def rebuild(old):
    """A main window in the current language holding `old`'s database, view and layout."""
    from .main_window import MainWindow

    geometry, state = old.saveGeometry(), old.saveState()
    (x0, x1), (y0, y1) = old.canvas.view.viewRange()
    db, selection, was_visible = old.db, dict(old.selection), old.isVisible()
    old.db = None  # the new window owns the connection: closing the old one must not close it
    new = MainWindow()
    new.coord_display = old.coord_display
    if db is not None:
        new._apply(read_open_database(db), target_of(db))
        if selection:
            new._set_selection(selection)
    new.restore_basemap()
    new.restoreGeometry(geometry)
    if not (old.isMaximized() or old.isFullScreen()):
        new.setGeometry(old.geometry())  # what restoreGeometry gives only once shown, on some platforms
    new.restoreState(state)
    if was_visible:
        new.show()  # before the old one closes: the last window closing would end the app
    if db is not None:  # once the canvas has its size: the view keeps its aspect ratio
        QApplication.processEvents()
        new.canvas.view.setRange(xRange=(float(x0), float(x1)), yRange=(float(y0), float(y1)), padding=0)
    old.close()
    old.deleteLater()
    _current[:] = [new]
    return new
