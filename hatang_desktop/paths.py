"""Where the shipped data lives: the source tree, or a PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def project_root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    override = os.environ.get("HATANG_RESOURCES")
    return Path(override) if override else project_root() / "resources"


def forms_dir() -> Path:
    return project_root() / "forms"


def bundled_sample_db() -> Path:
    return project_root() / "sample_db" / "ha_tinh_sample.db"
