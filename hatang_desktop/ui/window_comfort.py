"""Everyday comfort around the main window: settings, recent files, the saved layout, About.

Kept out of main_window.py so the window stays about the map; `install(window)` adds these to a
built window and is called once at the end of its construction.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from hatang_desktop import __version__
from hatang_desktop.paths import user_data_dir

from .actions import connect_triggered
from .crash_log import log_dir, versions
from .preferences import Preferences, add_recent_file, recent_files
from .settings import app_settings
from .settings_dialog import SettingsDialog
from . import strings
from .language_switch import switch_language
from .strings import tr

GEOMETRY_KEY, STATE_KEY = "window/geometry", "window/state"


class WindowComfort:
    def __init__(self, window) -> None:
        self.window = window
        self.prefs = Preferences.load()
        window.coord_display = self.prefs.coord_display
        self.act_settings = QAction(tr("act_settings"), window)
        self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self.act_settings.setToolTip(tr("act_settings_tip"))
        self.act_settings.setStatusTip(tr("act_settings_tip"))
        connect_triggered(self.act_settings, self.open_settings)
        self.recent_menu = QMenu(tr("menu_recent"), window)
        self.recent_menu.aboutToShow.connect(self.fill_recent)
        file_menu = window.menuBar().actions()[0].menu()
        first = file_menu.actions()[1] if len(file_menu.actions()) > 1 else None
        file_menu.insertMenu(first, self.recent_menu)  # right under Open…
        quit_action = window.act_quit
        file_menu.insertAction(quit_action, self.act_settings)
        file_menu.insertSeparator(quit_action)
        window.database_opened.connect(self.remember)
        self.fill_recent()
        # The saved layout is restored by the app at start (not here): a screenshot or a test must
        # show the default window, not whatever docks this user left open.

    # -- settings ------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        # Read again: the GPS dock saves the source it reads, and OK here saves every field.
        self.prefs = Preferences.load()
        dialog = SettingsDialog(self.prefs, self.window)
        dialog.accepted.connect(self._settings_changed)
        dialog.open()
        return dialog

    def _settings_changed(self) -> None:
        self.window.coord_display = self.prefs.coord_display
        self._name_the_user()
        if getattr(self.window, "gps_panel", None) is not None:
            self.window.gps_panel.apply_preferences(self.prefs)
        if self.prefs.language != strings.language():
            # Applies now: the window is rebuilt in the new language around the open database.
            switch_language(self.window, self.prefs.language)

    def _name_the_user(self) -> None:
        # The name from the first-run wizard or Settings goes to updated_by on every change.
        if self.prefs.user_name and self.window.db is not None:
            self.window.db.user = self.prefs.user_name

    # -- recent files --------------------------------------------------------------------

    def remember(self, path: str) -> None:
        from hatang_desktop.core.storage.targets import is_server_url

        if is_server_url(path):  # the File > Kết nối máy chủ dialog offers these (never a password)
            from .server_dialog import add_recent_server

            add_recent_server(path)
        else:
            add_recent_file(path)
        self._name_the_user()

    def fill_recent(self) -> None:
        self.recent_menu.clear()
        files = recent_files()
        if not files:
            empty = self.recent_menu.addAction(tr("recent_empty"))
            empty.setEnabled(False)
            return
        for i, path in enumerate(files, start=1):
            # &1..&8: the keyboard reaches each file from the menu without the mouse.
            act = self.recent_menu.addAction(f"&{i} {path.name}")
            act.setToolTip(str(path))
            act.setStatusTip(str(path))
            act.triggered.connect(lambda _checked=False, p=path: self.window.open_database(p))

    # -- layout --------------------------------------------------------------------------

    def save_layout(self) -> None:
        settings = app_settings()
        settings.setValue(GEOMETRY_KEY, self.window.saveGeometry())
        settings.setValue(STATE_KEY, self.window.saveState())
        settings.sync()

    def restore_layout(self) -> bool:
        settings = app_settings()
        geometry, state = settings.value(GEOMETRY_KEY), settings.value(STATE_KEY)
        restored = False
        if isinstance(geometry, QByteArray):
            restored = self.window.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            restored = self.window.restoreState(state) and restored
        return restored


def about_html() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in versions().items())
    return (tr("about_text", version=__version__)
            + f"<p><b>{tr('about_versions')}</b></p><table cellspacing='6'>{rows}</table>"
            + f"<p><b>{tr('about_logs')}:</b> {log_dir()}<br><b>{tr('about_data')}:</b> {user_data_dir()}</p>")


def show_about(window) -> None:
    QMessageBox.about(window, tr("act_about").replace("&", ""), about_html())
