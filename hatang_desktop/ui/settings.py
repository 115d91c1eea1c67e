"""Where the app remembers things between runs (last basemap): one INI file per user."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANISATION, APPLICATION = "HaTang", "HaTangDesktop"
LAST_BASEMAP = "basemap/last_path"


def app_settings() -> QSettings:
    # INI on every platform: readable, and tests can point QSettings.setPath at a temp folder.
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)
