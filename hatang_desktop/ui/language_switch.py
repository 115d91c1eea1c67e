"""Switching the UI's language while the program runs (Settings > Ngôn ngữ).

Every text of the window is set when its widget is built (menus, toolbars, docks, status bar,
the dialogs each dock owns), so the window is built again in the new language rather than each
widget retranslated by hand: nothing can be missed, and a new dock needs no retranslate code.
The new window takes over what the user had: the open database (the same connection: no reopen,
no second lock), the map view, the selection, the docks and toolbars where they were, the
basemap. The undo history stays with the old window (a rebuilt stack would undo through the
other language's descriptions); the change log keeps every change.

A restart is then offered ("Khởi động lại ngay?", a box that does not block the window): the
program starts again on the same database, every part of it built in the new language from the
start. `_start_detached` and `_quit` are the seams a test replaces.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QProcess, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from . import qt_vietnamese, strings
from .loader import read_open_database, target_of
from .strings import tr

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
    new = rebuild(window)
    if new.isVisible():
        offer_restart(new)
    return new


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


def offer_restart(window) -> QMessageBox:
    """Ask, in the new language and without blocking the window, whether to restart now."""
    box = QMessageBox(QMessageBox.Icon.Question, tr("restart_title"), tr("restart_question"),
                      QMessageBox.StandardButton.NoButton, window)
    box.setInformativeText(tr("restart_detail"))
    now = box.addButton(tr("restart_now"), QMessageBox.ButtonRole.AcceptRole)
    box.addButton(tr("restart_later"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(now)
    box.setModal(False)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.buttonClicked.connect(lambda button: restart(window) if button is now else None)
    window._restart_offer = box  # found by tests and kept alive with the window
    box.show()
    return box


def restart_command(database: str | None) -> tuple[str, list[str]]:
    """The program and arguments that start this program again on `database`."""
    args = [database] if database else []
    if getattr(sys, "frozen", False):  # the installed program: its own executable
        return sys.executable, args
    return sys.executable, ["-m", "hatang_desktop.ui.app", *args]


def restart(window) -> bool:
    """Close the window (which may refuse: the user keeps it) and start the program again on the
    same database. Returns whether the restart went ahead."""
    database = target_of(window.db) if window.db is not None else None
    if not window.close():
        return False
    program, args = restart_command(database)
    if not _start_detached(program, args):
        return False
    _quit()
    return True


def _start_detached(program: str, args: list[str]) -> bool:
    ok, _pid = QProcess.startDetached(program, args)
    return bool(ok)


def _quit() -> None:
    QApplication.quit()
