"""Where the shipped data live (forms/, resources/, sample_db/) and where the user's own go.

The shipped folders sit at the top of the repository. `data_dir` finds them in each way the app
runs:
- a PyInstaller bundle: `sys._MEIPASS/<folder>` (installer/hatang_desktop.spec puts them there);
- an installed wheel (`pip install .`): inside the package, `hatang_desktop/_data/<folder>`
  (setup.py's build hook copies them in), found with importlib.resources;
- a checkout, also through an editable install: `<repository>/<folder>`.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

DATA_PACKAGE_DIR = "_data"  # setup.py: DATA
_CHECKOUT = Path(__file__).resolve().parent.parent


def _packaged_data() -> Path | None:
    """hatang_desktop/_data of an installed wheel; None in a checkout or an editable install.

    Only a real folder counts: Qt, reportlab and glob need file paths, not a zip member."""
    packaged = resources.files(__package__ or "hatang_desktop") / DATA_PACKAGE_DIR
    return packaged if isinstance(packaged, Path) and packaged.is_dir() else None


def data_dir(name: str) -> Path:
    """A shipped top-level folder ("forms", "resources", "sample_db"), wherever the app runs from.

    The folder may be missing (sample_db/ in a wheel holds no database)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / name
    packaged = _packaged_data()
    return (packaged if packaged is not None else _CHECKOUT) / name


def is_checkout() -> bool:
    """Run from the source tree (directly or through an editable install), not an installed copy."""
    return not is_frozen() and _packaged_data() is None


def resources_dir() -> Path:
    override = os.environ.get("HATANG_RESOURCES")
    return Path(override) if override else data_dir("resources")


def forms_dir() -> Path:
    return data_dir("forms")


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
    """The sample as shipped: built on first start in a source tree, built in by the installer;
    a wheel ships none (this path does not exist there)."""
    return data_dir("sample_db") / SAMPLE_NAME


def bundled_sample_db() -> Path:
    """The sample database the app opens when given no file.

    In a source tree it is the shipped file itself. Installed, it is the user's copy in their
    data folder, because the user edits it and the install folder (site-packages, Program Files)
    is not theirs to write: the bundle's shipped file is copied there once; a wheel ships none, so
    the app builds it there on first start."""
    shipped = shipped_sample_db()
    if is_checkout():
        return shipped
    copy = user_data_dir() / SAMPLE_NAME
    if not copy.exists() and shipped.exists():
        import shutil

        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_suffix(".partial")
        shutil.copyfile(shipped, partial)
        partial.replace(copy)  # a crash mid-copy never leaves a truncated database behind
    return copy
