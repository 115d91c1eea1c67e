"""A log file the user can send, and a crash handler that writes to it.

Every save is already one transaction (core/storage), so a crash loses no saved data; what it
must not lose is the explanation. Uncaught exceptions, on the GUI thread or any other, are written
with their traceback to the log folder and shown to the user in one Vietnamese sentence with the
file's path, instead of Qt silently aborting the process.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
import threading
import traceback
from datetime import datetime
from pathlib import Path

from hatang_desktop import __version__
from hatang_desktop.paths import user_data_dir

LOG_NAME = "hatang-desktop.log"
_installed = False


def log_dir() -> Path:
    return user_data_dir() / "logs"


def versions() -> dict[str, str]:
    """What a bug report needs to know about this installation."""
    import numpy
    import pyqtgraph
    import shapely
    import sqlalchemy
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    return {"Hạ tầng Desktop": __version__, "Python": platform.python_version(),
            "Qt": qVersion(), "PySide6": pyside_version, "pyqtgraph": pyqtgraph.__version__,
            "shapely": shapely.__version__, "SQLAlchemy": sqlalchemy.__version__,
            "NumPy": numpy.__version__, "OS": platform.platform()}


def setup_logging() -> Path:
    """Log to a rotating file in the user's log folder (1 MB x 3): small enough to e-mail."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    root = logging.getLogger()
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3,
                                                       encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    logging.getLogger("hatang").info("start %s", ", ".join(f"{k} {v}" for k, v in versions().items()))
    return path


def write_crash_report(exc_type, exc, tb) -> Path:
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{datetime.now():%Y%m%d-%H%M%S}.log"
    lines = [f"{k}: {v}" for k, v in versions().items()]
    lines += ["", "".join(traceback.format_exception(exc_type, exc, tb))]
    path.write_text("\n".join(lines), encoding="utf-8")
    logging.getLogger("hatang").error("uncaught exception, report %s", path,
                                      exc_info=(exc_type, exc, tb))
    return path


def install_crash_handler(show_message=None) -> None:
    """Route uncaught exceptions to a crash report; `show_message(path, exc)` tells the user
    (called on the GUI thread only: a worker's crash is logged and surfaces through its job)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = sys.excepthook

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        try:
            path = write_crash_report(exc_type, exc, tb)
        except OSError:
            previous(exc_type, exc, tb)
            return
        if show_message is not None and threading.current_thread() is threading.main_thread():
            try:
                show_message(path, exc)
            except Exception:  # the message box must never be the second crash
                pass

    def thread_hook(args) -> None:
        if args.exc_type is SystemExit:
            return
        try:
            write_crash_report(args.exc_type, args.exc_value, args.exc_traceback)
        except OSError:
            pass

    sys.excepthook = hook
    threading.excepthook = thread_hook
