"""Where the app remembers things between runs (last basemap, layers switched off): one INI file per user."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANISATION, APPLICATION = "HaTang", "HaTangDesktop"
LAST_BASEMAP = "basemap/last_path"


def app_settings() -> QSettings:
    # INI on every platform: readable, and tests can point QSettings.setPath at a temp folder.
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


LAYER_VISIBLE = "layers/{key}_visible"


LAYER_LABELS = "layers/{key}_labels"


def remembered_layer_visibility(keys, setting: str = LAYER_VISIBLE) -> dict[str, bool]:
    """The layers among `keys` the user switched on or off in an earlier run (the others keep
    their default): a layer switched off stays off after a restart. With LAYER_LABELS: the
    layers whose labels were switched on or off."""
    settings = app_settings()
    out = {}
    for key in keys:
        value = settings.value(setting.format(key=key))
        if value is not None:  # the INI backend reads booleans back as "true"/"false"
            out[key] = value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1")
    return out


def remember_layer_visibility(key: str, visible: bool, setting: str = LAYER_VISIBLE) -> None:
    settings = app_settings()
    settings.setValue(setting.format(key=key), bool(visible))
    settings.sync()
