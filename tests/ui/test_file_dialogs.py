"""ui/file_dialogs: a dialog that reads no file to draw a folder, and never hands back the open
database where another file is wanted. (test_database_locks.py shows the dialog on the database's
folder keeps the app's locks.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QFileInfo
from PySide6.QtWidgets import QFileDialog, QMessageBox

from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui import file_dialogs
from hatang_desktop.ui.file_dialogs import NoSniffIconProvider


def test_types_and_icons_come_from_the_name(qtbot, tmp_path):
    (tmp_path / "ha_tinh.db").write_bytes(b"SQLite format 3\x00")
    (tmp_path / "README").write_text("x")
    provider = NoSniffIconProvider()
    assert provider.type(QFileInfo(str(tmp_path))) == "Thư mục"
    assert provider.type(QFileInfo(str(tmp_path / "ha_tinh.db"))) == "Tệp DB"
    assert provider.type(QFileInfo(str(tmp_path / "README"))) == "Tệp"
    for name in ("ha_tinh.db", "README", ""):
        assert not provider.icon(QFileInfo(str(tmp_path / name))).isNull()


@pytest.mark.skipif(sys.platform == "win32", reason="Windows keeps its native dialog")
def test_the_dialog_is_qts_own_with_the_provider(qtbot, tmp_path):
    dialog = file_dialogs.make_dialog(None, "Lưu", str(tmp_path / "so.xlsx"), "Excel (*.xlsx)")
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog)
    assert isinstance(dialog.iconProvider(), NoSniffIconProvider)
    assert Path(dialog.directory().absolutePath()) == tmp_path  # a name in `directory` is selected
    assert [Path(f) for f in dialog.selectedFiles()] == [tmp_path / "so.xlsx"]


@pytest.fixture
def answers(monkeypatch):
    """exec() answers with the next path (accepted), then cancels; warnings are recorded."""
    chosen: list[str] = []
    warnings: list[str] = []

    def fake_exec(dialog):
        if not chosen:
            return QFileDialog.DialogCode.Rejected
        dialog.selectFile(chosen.pop(0))
        return QFileDialog.DialogCode.Accepted

    monkeypatch.setattr(QFileDialog, "exec", fake_exec)
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda _parent, _title, message: warnings.append(message)))
    return chosen, warnings


def test_the_open_database_is_refused_where_another_file_is_wanted(qtbot, tmp_path, sample_db_path, answers):
    chosen, warnings = answers
    other = tmp_path / "so.xlsx"
    other.write_bytes(b"")
    with Database.open(sample_db_path):
        chosen[:] = [str(sample_db_path), str(other)]
        assert file_dialogs.save_file_name(None, "", str(tmp_path), "*") == (str(other), "*")
        assert len(warnings) == 1 and "Không thể ghi đè «sample.db»" in warnings[0]
        chosen[:] = [str(sample_db_path)]
        assert file_dialogs.open_file_name(None, "", str(tmp_path), "*") == ("", "")
        assert "«sample.db» là cơ sở dữ liệu đang mở" in warnings[1]
        chosen[:] = [str(sample_db_path)]  # File > Open: opening it again is fine
        assert file_dialogs.open_file_name(None, "", str(tmp_path), "*", database=True) == (str(sample_db_path), "*")
    chosen[:] = [str(sample_db_path)]  # closed: an ordinary file again
    assert file_dialogs.save_file_name(None, "", str(tmp_path), "*")[0] == str(sample_db_path)
    assert len(warnings) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="Windows shows its native dialog, in the system's language")
def test_file_open_from_the_menu_speaks_vietnamese(window, qtbot):
    """Tệp > Mở… (Ctrl+O) in the Vietnamese UI: Qt's own labels of the dialog are Vietnamese
    (Qt ships no qtbase_vi.qm; ui/qt_vietnamese.py is installed at start, as ui/app.py does)."""
    from PySide6.QtWidgets import QAbstractButton, QApplication, QHeaderView, QLabel, QToolButton

    from hatang_desktop.ui import qt_vietnamese

    from . import walk

    qt_vietnamese.install(QApplication.instance(), "vi")
    try:
        def read(dialog):
            assert isinstance(dialog, QFileDialog)
            dialog.setViewMode(QFileDialog.ViewMode.Detail)  # the column headers, as the Detail button does
            walk.settle()
            labels = [label.text().replace("&", "") for label in dialog.findChildren(QLabel) if label.isVisible()]
            tips = [b.toolTip() for b in dialog.findChildren(QToolButton) if b.isVisible()]
            header = next(h for h in dialog.findChildren(QHeaderView) if h.isVisible())
            columns = [header.model().headerData(i, header.orientation()) for i in range(header.count())]
            buttons = [b.text().replace("&", "") for b in dialog.findChildren(QAbstractButton)
                       if b.isVisible() and b.text()]
            dialog.reject()
            return labels, tips, columns, buttons

        walk.activate(window)
        seen = walk.when_modal(read)
        walk.press(window, "Ctrl+O")
        labels, tips, columns, buttons = seen.done()
        assert {"Tìm trong:", "Tên tệp:", "Loại tệp:"} <= set(labels), labels
        assert not any(word in " ".join(labels) for word in ("Look in", "File name", "Files of type"))
        assert {"Lùi", "Tới", "Thư mục cha", "Tạo thư mục mới", "Dạng danh sách", "Dạng chi tiết"} <= set(tips), tips
        assert columns[:4] == ["Tên", "Kích thước", "Loại", "Ngày sửa"], columns
        assert {"Mở", "Hủy"} <= set(buttons), buttons
    finally:
        qt_vietnamese.install(QApplication.instance(), "en")  # removes it: other tests see Qt's own texts


def test_key_names_stay_untranslated(qtbot):
    """"Back" and "Delete" are file-dialog words and key names: only the dialog's are translated,
    so a shortcut read back as native text still parses."""
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QApplication

    from hatang_desktop.ui import qt_vietnamese

    qt_vietnamese.install(QApplication.instance(), "vi")
    try:
        text = QKeySequence("Ctrl+Del").toString(QKeySequence.SequenceFormat.NativeText)
        assert QKeySequence.fromString(text, QKeySequence.SequenceFormat.NativeText) == QKeySequence("Ctrl+Del")
        assert QApplication.translate("QFileDialog", "Back") == "Lùi"
        assert QApplication.translate("QShortcut", "Back") == "Back"
    finally:
        qt_vietnamese.install(QApplication.instance(), "en")
