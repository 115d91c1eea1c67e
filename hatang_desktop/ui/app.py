"""`hatang-desktop [DB] [--lang vi|en] [--screenshot OUT.png]`: the desktop application."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

EXIT_OK, EXIT_INVALID = 0, 2
DEFAULT_SIZE = (1366, 768)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hatang-desktop", description="Hạ tầng Desktop")
    parser.add_argument("database", nargs="?",
                        help="cơ sở dữ liệu (.db) hoặc máy chủ (postgresql://…, postgresql:///?service=…); "
                             "mặc định: dữ liệu mẫu / a database file or a server URL; default: the sample")
    from .strings import LANGUAGES

    parser.add_argument("--lang", choices=LANGUAGES,
                        help="ngôn ngữ (mặc định: theo Thiết lập) / language (default: from Settings)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="vẽ cửa sổ một lần, lưu ảnh PNG rồi thoát / render once, save, exit")
    parser.add_argument("--size", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}",
                        help="kích thước ảnh chụp, ví dụ 1366x768 / screenshot size")
    return parser.parse_args(argv)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size: cần dạng RỘNGxCAO, ví dụ 1366x768 / expected WxH: {text!r}") from None
    return w, h


def _use_offscreen_if_headless() -> None:
    # A screenshot must work on a server with no display; elsewhere the real platform is right.
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def load_fonts(app) -> str | None:
    """Register the shipped fonts and make them the app font: the same look on every machine."""
    from PySide6.QtGui import QFont, QFontDatabase

    from hatang_desktop.paths import resources_dir

    family = None
    for path in sorted((resources_dir() / "fonts").glob("*.ttf")):
        font_id = QFontDatabase.addApplicationFont(str(path))
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        family = family or (families[0] if families else None)
    if family:
        app.setFont(QFont(family, 10))
    return family


def ensure_sample(path: Path, *, console: bool) -> None:
    """Create the bundled sample database the first time (about 7 s), showing progress."""
    if path.exists():
        return
    from hatang_desktop.core.sample import generate_sample

    from .strings import tr

    path.parent.mkdir(parents=True, exist_ok=True)  # installed: the user's data folder, maybe new
    if console:
        print(tr("creating_sample_console", path=path), file=sys.stderr)
        generate_sample(path)
        return
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QProgressDialog

    state: dict = {"fraction": 0.0, "error": None}

    def work() -> None:
        try:
            generate_sample(path, progress=lambda _stage, f: state.update(fraction=f))
        except Exception as exc:  # handed back to the GUI thread below
            state["error"] = exc

    dialog = QProgressDialog(tr("creating_sample"), None, 0, 100)
    dialog.setWindowTitle(tr("app_title"))
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(0)
    dialog.show()
    # Generation runs off the GUI thread so the dialog keeps painting; it has no cancel hook.
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        dialog.setValue(int(state["fraction"] * 100))
        QApplication.processEvents()
        worker.join(0.05)
    dialog.close()
    if state["error"] is not None:
        raise state["error"]


def take_screenshot(window, out: Path, size: tuple[int, int]) -> None:
    from PySide6.QtWidgets import QApplication

    window.resize(*size)
    window.show()
    QApplication.processEvents()
    window.canvas.zoom_full()  # again, now that the canvas has its final size
    QApplication.processEvents()
    window.grab().save(str(out), "PNG")


def _let_workers_finish() -> None:
    """Wait for the map's background jobs (aggregates, images, counts) before the interpreter
    ends: a job still running then fails in Python's teardown, and PySide prints its error
    ("Error calling Python override of QRunnable::run()") to the console of a finished command."""
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone()


def crash_message_box(path: Path, exc: BaseException):
    """The box that tells the user about a crash: one sentence with the report's path (selectable,
    to copy it), the error's type and first line; the traceback is only in the report."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from hatang_desktop.core.server.database import ServerError

    from .crash_log import short_error
    from .strings import message_text, tr

    if isinstance(exc, ServerError):  # a lost server connection is no crash: what to do, in one box
        return QMessageBox(QMessageBox.Icon.Warning, tr("server_lost_title"),
                           tr("server_lost_text", detail=message_text(exc)), QMessageBox.StandardButton.Ok)
    box = QMessageBox(QMessageBox.Icon.Critical, tr("crash_title"),
                      tr("crash_text", error=short_error(exc), path=path), QMessageBox.StandardButton.Ok)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return box


def _crash_message(path: Path, exc: BaseException) -> None:
    crash_message_box(path, exc).exec()


def _set_window_icon(app) -> None:
    from PySide6.QtGui import QIcon

    from hatang_desktop.paths import resources_dir

    icon = resources_dir() / "icons" / "hatang-desktop.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))


def _first_run(prefs) -> Path | None:
    """The wizard, once; None opens the sample (also when the user closes the wizard)."""
    from .first_run import FirstRunWizard

    wizard = FirstRunWizard(prefs)
    wizard.exec()
    return wizard.database


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = _size(args.size)
    if args.screenshot:
        _use_offscreen_if_headless()

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication, QMessageBox

    from hatang_desktop.core.errors import HatangError
    from hatang_desktop.paths import bundled_sample_db

    from . import qt_vietnamese, strings
    from .crash_log import install_crash_handler, setup_logging
    from .preferences import Preferences

    setup_logging()
    from . import read_process

    # The process that reads large databases for the map starts now: its imports (a second or
    # two) are done by the time a file is opened.
    read_process.warm()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.aboutToQuit.connect(read_process.shutdown)
    app.setApplicationName("Hạ tầng Desktop")
    prefs = Preferences.load()
    strings.set_language(args.lang or prefs.language)
    qt_vietnamese.install(app, strings.language())
    install_crash_handler(_crash_message)
    # Cyclic garbage is collected on the GUI thread only, on a timer (collector.py).
    from . import collector

    collector.install(app)
    pg.setConfigOptions(antialias=True)
    load_fonts(app)
    _set_window_icon(app)

    from .main_window import MainWindow

    from hatang_desktop.core.storage.targets import is_server_url, parse_server_url

    if args.database and is_server_url(args.database):
        try:  # refused before anything connects: a URL carrying a password, no database named
            path = parse_server_url(args.database).uri
        except HatangError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_INVALID
    else:
        path = Path(args.database) if args.database else None
    if path is None and not args.screenshot and not prefs.first_run_done:
        path = _first_run(prefs)
        if args.lang is None:
            strings.set_language(prefs.language)
            qt_vietnamese.install(app, strings.language())
    path = path or bundled_sample_db()
    window = MainWindow()
    error = None
    try:
        if path == bundled_sample_db():
            ensure_sample(path, console=bool(args.screenshot))
        if args.screenshot:
            window.load_database(path)  # the picture needs the data: no point in a background load
    except HatangError as exc:
        error = strings.message_text(exc)
    window.restore_basemap()

    if args.screenshot:
        if error:
            print(error, file=sys.stderr)
            window.close()
            return EXIT_INVALID
        take_screenshot(window, Path(args.screenshot), size)
        window.close()
        _let_workers_finish()
        return EXIT_OK

    window.resize(*size)
    window.comfort.restore_layout()  # the size, docks and toolbars this user left
    window.show()
    collector.freeze_startup()  # full collections walk only what is made from here on
    if error:
        QMessageBox.critical(window, strings.tr("error_title"), error)
    else:
        window.open_database(path)  # off the GUI thread: the window paints while it loads
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
