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


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def user_data_dir() -> Path:
    """Where an installed app keeps what the user owns (the sample copy, logs): never the install
    folder, which is read-only under Program Files and replaced by every update."""
    override = os.environ.get("HATANG_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "HaTangDesktop"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "hatang-desktop"


SAMPLE_NAME = "ha_tinh_sample.db"


def shipped_sample_db() -> Path:
    """The sample as shipped: built on first start in a source tree, built in by the installer."""
    return project_root() / "sample_db" / SAMPLE_NAME


def bundled_sample_db() -> Path:
    """The sample database the app opens when given no file.

    In a source tree it is the shipped file itself. In an installed bundle the shipped file is
    copied once into the user's data folder, because the user edits it and the install folder is
    not theirs to write."""
    shipped = shipped_sample_db()
    if not is_frozen():
        return shipped
    copy = user_data_dir() / SAMPLE_NAME
    if not copy.exists() and shipped.exists():
        import shutil

        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_suffix(".partial")
        shutil.copyfile(shipped, partial)
        partial.replace(copy)  # a crash mid-copy never leaves a truncated database behind
    return copy
