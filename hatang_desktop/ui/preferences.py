"""The user's preferences, typed, over the one QSettings INI file (ui/settings.py).

Every other module reads preferences through `Preferences` rather than raw QSettings keys, so a
key is spelled once, has one default, and a value a user broke by hand in the INI file falls back
to the default instead of crashing the app.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from PySide6.QtCore import QSettings

from .settings import app_settings
from .strings import LANGUAGES

COORD_DISPLAYS = ("wgs84", "dms", "vn2000")
MAX_RECENT = 8


@dataclass
class Preferences:
    language: str = "vi"
    user_name: str = ""
    province_code: str = ""
    commune_code: str = ""
    default_operator: str = ""
    gps_source: str = ""  # a serial port (COM3, /dev/ttyUSB0) or an NMEA log file
    gps_baud: int = 9600  # the receiver's serial speed, with gps_source when that is a port
    gps_accuracy_m: float = 10.0  # "use GPS position" refuses a fix worse than this
    gps_follow: bool = False  # "Theo dõi vị trí": the map keeps the GPS position in view
    gps_record_track: bool = False  # the GPS dock's "Ghi lộ trình": breadcrumbs while it reads
    photo_max_edge_px: int = 2048
    backup_keep: int = 10
    coord_display: str = "wgs84"
    first_run_done: bool = False

    # -- persistence ---------------------------------------------------------------------

    @classmethod
    def load(cls, settings: QSettings | None = None) -> Preferences:
        settings = settings or app_settings()
        prefs = cls()
        for f in fields(cls):
            raw = settings.value(f"prefs/{f.name}")
            if raw is None:
                continue
            default = getattr(prefs, f.name)
            try:
                value = _coerce(raw, type(default))
            except (TypeError, ValueError):
                continue  # a hand-edited INI with nonsense: keep the default
            setattr(prefs, f.name, value)
        prefs._clamp()
        return prefs

    def save(self, settings: QSettings | None = None) -> None:
        self._clamp()
        settings = settings or app_settings()
        for f in fields(self):
            settings.setValue(f"prefs/{f.name}", getattr(self, f.name))
        settings.sync()

    def _clamp(self) -> None:
        if self.language not in LANGUAGES:
            self.language = "vi"
        if self.coord_display not in COORD_DISPLAYS:
            self.coord_display = "wgs84"
        self.gps_accuracy_m = min(max(float(self.gps_accuracy_m), 0.5), 500.0)
        self.photo_max_edge_px = min(max(int(self.photo_max_edge_px), 320), 8192)
        self.backup_keep = min(max(int(self.backup_keep), 1), 100)


def _coerce(raw, kind):
    if kind is bool:
        # QSettings' INI backend hands booleans back as the strings "true"/"false".
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("true", "1", "yes")
    return kind(raw)


# -- recent files ---------------------------------------------------------------------------

def recent_files(settings: QSettings | None = None) -> list[Path]:
    """Most recent first; files that no longer exist are dropped, not shown as traps."""
    settings = settings or app_settings()
    raw = settings.value("recent/files") or []
    if isinstance(raw, str):
        raw = [raw]
    return [Path(p) for p in raw if p and Path(p).exists()][:MAX_RECENT]


def add_recent_file(path: str | Path, settings: QSettings | None = None) -> list[Path]:
    settings = settings or app_settings()
    path = Path(path).resolve()
    files = [path] + [p for p in recent_files(settings) if p.resolve() != path]
    files = files[:MAX_RECENT]
    settings.setValue("recent/files", [str(p) for p in files])
    settings.sync()
    return files
