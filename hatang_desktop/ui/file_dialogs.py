"""Every file dialog of the app: QFileDialog's static functions, made safe for an open database.

Closing any descriptor of a file drops every POSIX lock this process holds on it, SQLite's
included (see core/storage/files.py). Qt's own (non-native) file dialog lists a folder through
QFileSystemModel, whose icon provider asks QMimeDatabase for each file's type and icon, and
QMimeDatabase opens a file to sniff its content when the name alone does not tell: showing the
database's folder opened and closed the .db, its -wal and its -shm, and another process's
`sqlite3` or `hatang info` then deleted the -wal and -shm under the open connection. The same
holds for the GTK dialog that Qt's gtk3 platform theme shows in this process on a Linux desktop.

So the dialog here is always Qt's widget dialog with an icon provider that never reads a file:
types from the suffix, generic file and folder icons. Only on Windows is the native dialog kept
(its locks belong to a handle, and closing another handle releases nothing).

The dialog also refuses the database this process has open where another kind of file is
wanted (an Excel workbook, a photo, an export's target), since reading or writing it from
outside SQLite is the same hazard, and overwriting it destroys the user's data.

Call these functions through the module (`file_dialogs.open_file_name(...)`): tests replace them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QFileInfo
from PySide6.QtGui import QAbstractFileIconProvider
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QMessageBox, QSplitter, QWidget

from hatang_desktop.core.storage.files import is_open_here

from .strings import tr

Options = QFileDialog.Option
IconType = QAbstractFileIconProvider.IconType


class NoSniffIconProvider(QFileIconProvider):
    """Icons and type names from the name alone: opens no file (QFileIconProvider's icon(info)
    and type(info) ask the platform theme or QMimeDatabase, which read the file)."""

    def icon(self, what):  # noqa: D401 (Qt API: overloaded on IconType and QFileInfo)
        if isinstance(what, QFileInfo):
            kind = IconType.Drive if what.isRoot() else IconType.Folder if what.isDir() else IconType.File
            return super().icon(kind)  # the style's standard icon for the kind
        return super().icon(what)

    def type(self, info: QFileInfo) -> str:
        if info.isRoot():
            return tr("fd_drive")
        if info.isDir():
            return tr("fd_folder")
        suffix = info.suffix()
        return tr("fd_file_suffix", suffix=suffix.upper()) if suffix else tr("fd_file")


def use_native_dialog() -> bool:
    return sys.platform == "win32"


def make_dialog(parent: QWidget | None = None, caption: str = "", directory: str = "", filter: str = "",
                selected_filter: str = "", options: Options = Options(0)) -> QFileDialog:
    """A QFileDialog as the static functions build it (a file name in `directory` is selected),
    with the icon provider above. Shown with exec() by the functions below; tests may show it."""
    dialog = QFileDialog(parent, caption, directory, filter)
    # Kept on the dialog's wrapper: QFileDialog does not own its icon provider.
    dialog._icon_provider = NoSniffIconProvider()
    dialog.setIconProvider(dialog._icon_provider)
    if not use_native_dialog():
        options |= Options.DontUseNativeDialog
    dialog.setOptions(options)
    if options & Options.DontUseNativeDialog:
        _widen_places(dialog)
    if selected_filter:
        dialog.selectNameFilter(selected_filter)
    return dialog


def _widen_places(dialog: QFileDialog) -> None:
    """Qt's sidebar of places opens about 90 px wide: "Máy tính" and folder names are cut there."""
    splitter = dialog.findChild(QSplitter)
    if splitter is not None and splitter.count() == 2:
        splitter.setSizes([150, max(dialog.width() - 150, 300)])
        splitter.setStretchFactor(1, 1)


def _run(dialog: QFileDialog, refusal: str | None) -> list[str]:
    """exec() until the user cancels or chooses files other than the open database."""
    while dialog.exec() == QFileDialog.DialogCode.Accepted:
        files = dialog.selectedFiles()
        refused = next((f for f in files if refusal and is_open_here(f)), None)
        if refused is None:
            return files
        QMessageBox.warning(dialog, dialog.windowTitle(), tr(refusal, name=Path(refused).name))
    return []


def open_file_name(parent: QWidget | None = None, caption: str = "", directory: str = "", filter: str = "",
                   selected_filter: str = "", options: Options = Options(0), *,
                   database: bool = False) -> tuple[str, str]:
    """QFileDialog.getOpenFileName. `database`: the file wanted is a database (may be the open one)."""
    dialog = make_dialog(parent, caption, directory, filter, selected_filter, options)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    files = _run(dialog, None if database else "fd_open_database")
    return (files[0], dialog.selectedNameFilter()) if files else ("", "")


def open_file_names(parent: QWidget | None = None, caption: str = "", directory: str = "", filter: str = "",
                    selected_filter: str = "", options: Options = Options(0)) -> tuple[list[str], str]:
    """QFileDialog.getOpenFileNames."""
    dialog = make_dialog(parent, caption, directory, filter, selected_filter, options)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    files = _run(dialog, "fd_open_database")
    return (files, dialog.selectedNameFilter()) if files else ([], "")


def save_file_name(parent: QWidget | None = None, caption: str = "", directory: str = "", filter: str = "",
                   selected_filter: str = "", options: Options = Options(0)) -> tuple[str, str]:
    """QFileDialog.getSaveFileName; never the database this process has open."""
    dialog = make_dialog(parent, caption, directory, filter, selected_filter, options)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    files = _run(dialog, "fd_overwrite_database")
    return (files[0], dialog.selectedNameFilter()) if files else ("", "")


__all__ = ["NoSniffIconProvider", "make_dialog", "open_file_name", "open_file_names", "save_file_name"]
