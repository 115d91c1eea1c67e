"""A log file the user can send, and a crash handler that writes to it.

Every save is already one transaction (core/storage), so a crash loses no saved data; what it
must not lose is the explanation. Uncaught exceptions, on the GUI thread or any other, are written
with their whole traceback, the versions and the log's last lines to the log folder, and shown to
the user in one sentence with the file's path (never the traceback), instead of Qt silently
aborting the process.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
import threading
import traceback
from collections import deque
from datetime import datetime
from pathlib import Path

from hatang_desktop import __version__
from hatang_desktop.paths import user_data_dir

LOG_NAME = "hatang-desktop.log"
LOG_TAIL_LINES = 50  # of the log, in every crash report
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
    # One log file: a handler left from another data folder (the app started again in one process,
    # as the tests do) is replaced, or the crash report's log tail would come from the wrong file.
    for old in [h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]:
        if Path(old.baseFilename) != path.resolve():
            root.removeHandler(old)
            old.close()
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3,
                                                       encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    logging.getLogger("hatang").info("start %s", ", ".join(f"{k} {v}" for k, v in versions().items()))
    return path


def _log_file() -> Path | None:
    """The file the app logs to: the root logger's rotating file, or the usual place."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            handler.flush()
            return Path(handler.baseFilename)
    path = log_dir() / LOG_NAME
    return path if path.exists() else None


def log_tail(lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` lines of the app's log (what the user did just before), or none."""
    path = _log_file()
    if path is None or not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as f:
        return [line.rstrip("\n") for line in deque(f, maxlen=lines)]


def _report_path(folder: Path) -> Path:
    stem = f"crash-{datetime.now():%Y%m%d-%H%M%S}"
    path, n = folder / f"{stem}.log", 1
    while path.exists():  # two errors in one second (a failing paint repeats) keep both reports
        n += 1
        path = folder / f"{stem}-{n}.log"
    return path


def crash_report_text(exc_type, exc, tb, caught_at: list[traceback.FrameSummary] | None = None) -> str:
    """The report: versions, the whole traceback, where the error was caught, the log's tail.

    PySide6 reports an exception in a slot through sys.excepthook, with the slot's traceback. When
    the call itself failed (a slot connected with the wrong signature: "missing 1 required
    positional argument") no Python frame of the slot ran and the traceback is None; the stack
    where the error reached the handler (`caught_at`) then says which code emitted the signal.
    """
    sections: list[str] = [f"Hạ tầng Desktop — báo cáo lỗi / crash report, {datetime.now():%Y-%m-%d %H:%M:%S}",
                           f"Thread: {threading.current_thread().name}", ""]
    try:
        sections += [f"{k}: {v}" for k, v in versions().items()]
    except Exception as err:  # a broken installation must not cost the traceback
        sections.append(f"(versions unavailable: {err!r})")
    sections.append("")
    if tb is None and getattr(exc, "__traceback__", None) is None:
        sections.append("The exception has no traceback of its own: it was raised before any Python code of "
                        "the called function ran (e.g. Qt called a slot with the wrong arguments).")
    sections.append("".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n"))
    if caught_at:
        sections += ["", "Python stack where the error was caught (most recent call last):",
                     "".join(traceback.format_list(caught_at)).rstrip("\n")]
    tail = log_tail()
    sections += ["", f"Last {len(tail)} lines of the log ({_log_file()}):" if tail else "The log is empty.", *tail]
    return "\n".join(sections) + "\n"


def write_crash_report(exc_type, exc, tb, caught_at: list[traceback.FrameSummary] | None = None) -> Path:
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = _report_path(folder)
    path.write_text(crash_report_text(exc_type, exc, tb, caught_at), encoding="utf-8")
    logging.getLogger("hatang").error("uncaught exception, report %s", path,
                                      exc_info=(exc_type, exc, tb))
    return path


def _caught_at(frame) -> list[traceback.FrameSummary]:
    """The Python stack below the hook: the code that was running when the error reached it."""
    return list(traceback.extract_stack(frame)) if frame is not None else []


def short_error(exc: BaseException, limit: int = 160) -> str:
    """The error in a few words for the message box: its type and first line, never a traceback."""
    text = str(exc).strip().splitlines()
    words = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return words if len(words) <= limit else words[:limit - 1] + "…"


def install_crash_handler(show_message=None):
    """Route uncaught exceptions to a crash report; `show_message(path, exc)` tells the user
    (called on the GUI thread only, one message at a time: a worker's crash is logged and surfaces
    through its job). Returns a function that puts the previous hooks back (for tests)."""
    global _installed
    if _installed:
        return lambda: None
    _installed = True
    previous, previous_thread = sys.excepthook, threading.excepthook
    showing = False

    def hook(exc_type, exc, tb) -> None:
        nonlocal showing
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        try:
            path = write_crash_report(exc_type, exc, tb, _caught_at(sys._getframe().f_back))
        except OSError:
            previous(exc_type, exc, tb)
            return
        # One box at a time: a paint that keeps failing must not stack a box per repaint (the
        # box's own event loop repaints); every occurrence still gets its report.
        if show_message is not None and not showing and threading.current_thread() is threading.main_thread():
            showing = True
            try:
                show_message(path, exc)
            except Exception:  # the message box must never be the second crash
                pass
            finally:
                showing = False

    def thread_hook(args) -> None:
        if args.exc_type is SystemExit:
            return
        try:
            write_crash_report(args.exc_type, args.exc_value, args.exc_traceback)
        except OSError:
            pass

    sys.excepthook = hook
    threading.excepthook = thread_hook

    def uninstall() -> None:
        global _installed
        sys.excepthook, threading.excepthook = previous, previous_thread
        _installed = False

    return uninstall
