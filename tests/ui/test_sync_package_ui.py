"""The sync package walked as a person does (issue 16 item 13): File > Xuất gói cho Sở… at the
commune (menu clicked, "Chọn…" answered by the file dialog, "Xuất" pressed), then at the
department File > Nhập sổ Excel… with the .zip (the dialog offers .zip files; the preview lists
the photos it will add), "Nhập vào cơ sở dữ liệu"; and an altered package, whose preview names
the photo and its record among the problems and cannot be applied. Only the file dialog is
replaced."""

from __future__ import annotations

import hashlib
import sqlite3
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from hatang_desktop.core import photos
from hatang_desktop.core.storage.database import Database
from tests.core.test_photos import make_jpeg
from tests.core.test_sync_package import department_copy, records, rewrite
from tests.ui.test_every_action import FileDialogs
from tests.ui.test_user_walks_exchange import open_menu_item, shown
from tests.ui.walk import activate, button, click

WAIT_MS = 60_000


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def commune_window(qtbot, sample_db_path, tmp_path):
    """The app on the sample with three photos (two sites and a pole), and the department's
    database (the records, none of the photos)."""
    import pyqtgraph as pg

    from hatang_desktop.ui.main_window import MainWindow

    (tmp_path / "so").mkdir()
    department = department_copy(sample_db_path, tmp_path / "so" / "so.db")
    recs = records(sample_db_path)
    made = []
    with Database.open(sample_db_path) as db:
        for i, key in enumerate(("site", "site2", "pole")):
            src = make_jpeg(tmp_path / f"p{i}.jpg", size=(800, 600), colour=f"#20{40 * i:02x}90")
            made.append(photos.attach_photo(db, "poles" if key == "pole" else "sites", recs[key][0], src))
    pg.setConfigOptions(antialias=True)
    w = MainWindow()
    qtbot.addWidget(w)
    w.load_database(sample_db_path)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w, made, recs, department


def menu_item(window, menu_title: str, item: str) -> None:
    """`open_menu_item` after the mouse has been elsewhere: a QMenu takes a click only once the
    mouse has moved since it opened, and the cursor may still rest where this item was clicked
    in an earlier walk (the same item at the same place: the click would close the menu and do
    nothing)."""
    for i in range(8):
        QTest.mouseMove(window, QPoint(window.width() - 60 - 8 * i, window.height() - 60))
    open_menu_item(window, menu_title, item)


def recorded_filters(monkeypatch, dialogs: FileDialogs) -> list[str]:
    """The name filters the app passed to its file dialogs (answers still from `dialogs`)."""
    from hatang_desktop.ui import file_dialogs

    seen: list[str] = []
    for name in ("open_file_name", "save_file_name"):
        inner = getattr(file_dialogs, name)

        def wrapper(parent=None, caption="", directory="", filter="", *a, _inner=inner, **k):
            seen.append(filter)
            return _inner(parent, caption, directory, filter, *a, **k)
        monkeypatch.setattr(file_dialogs, name, wrapper)
    return seen


def export_package_from_menu(qtbot, window, target_without_suffix: Path) -> list[str]:
    from hatang_desktop.ui.excel_export_dialog import ExcelExportDialog

    activate(window)
    menu_item(window, "Tệp", "Xuất gói cho Sở…")
    dialog = shown(ExcelExportDialog)
    assert dialog.windowTitle() == "Xuất gói cho Sở"
    box = next(b for b in dialog.findChildren(QCheckBox) if b.text().startswith("Kèm ảnh"))
    assert box.isChecked() and dialog.path_edit.text().endswith(".zip")
    click(button(dialog, "Chọn…"))     # the file dialog answers with a name typed without .zip
    assert dialog.path_edit.text() == str(target_without_suffix) + ".zip"
    click(button(dialog, "Xuất"))
    qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible() for w in dialog.findChildren(QWidget))
                    or dialog.error is not None, timeout=WAIT_MS)
    assert dialog.error is None, dialog.error
    message = next(w for w in dialog.findChildren(QMessageBox) if w.isVisible())
    lines = message.text().splitlines()
    click(message.button(QMessageBox.StandardButton.Ok))
    click(button(dialog, "Đóng"))
    return lines


def test_package_exported_from_the_menu_and_imported_at_the_department(commune_window, qtbot, monkeypatch,
                                                                      tmp_path):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    window, made, recs, department = commune_window
    dialogs = FileDialogs(monkeypatch)
    filters = recorded_filters(monkeypatch, dialogs)
    target = tmp_path / "gói_tuần_47"
    dialogs.answers.append(str(target))
    lines = export_package_from_menu(qtbot, window, target)
    out = Path(str(target) + ".zip")
    assert lines[0].startswith("Đã xuất gói gói_tuần_47.zip") and "3 ảnh" in lines[0], lines
    assert "  • Ảnh: 3" in lines
    assert "*.zip" in filters[0]
    with zipfile.ZipFile(out) as z:
        assert {f"anh/{p.file_name}" for p in made} <= set(z.namelist())

    # At the department: the same window opens the department's database.
    with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS):
        window.open_database(department)
    before = digest(department)
    dialogs.answers.append(str(out))
    activate(window)
    menu_item(window, "Tệp", "Nhập sổ Excel…")
    dialog = shown(ExcelImportDialog)
    assert "*.zip" in filters[-1] and "*.xlsx" in filters[-1]
    qtbot.waitUntil(lambda: dialog.photos_box.isVisible() or dialog.problems_table.isVisible(), timeout=WAIT_MS)
    assert dialog.problems_table.isHidden(), [str(p) for p in dialog.problems]
    assert "Ảnh: thêm 3, cập nhật 0, chép 3 tệp" in dialog.photos_label.text()
    t = dialog.photos_table
    shown_rows = {(t.item(r, 0).text(), t.item(r, 1).text(), t.item(r, 2).text(), t.item(r, 3).text())
                  for r in range(t.rowCount())}
    assert shown_rows == {(made[0].file_name, "Trạm BTS", recs["site"][1], "thêm ảnh"),
                          (made[1].file_name, "Trạm BTS", recs["site2"][1], "thêm ảnh"),
                          (made[2].file_name, "Cột treo cáp", recs["pole"][1], "thêm ảnh")}
    assert digest(department) == before and not photos.photo_dir(department).exists()  # a dry run
    # Applied, the import is one undo step and the map shows what it changed (no reload).
    click(button(dialog, "Nhập vào cơ sở dữ liệu"))
    qtbot.waitUntil(lambda: window.editor.stack.count() == 1, timeout=WAIT_MS)
    assert dialog.result is not None and dialog.result.applied
    click(button(dialog, "Đóng"))
    folder = photos.photo_dir(department)
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(p.file_name for p in made)
    with sqlite3.connect(department) as conn:
        rows = conn.execute("SELECT uuid, owner_uuid, sha256 FROM photos ORDER BY id").fetchall()
    assert rows == [(p.uuid, p.owner_uuid, p.sha256) for p in made]
    assert all(digest(folder / p.file_name) == p.sha256 for p in made)


def test_an_altered_package_shows_its_problem_and_cannot_be_applied(commune_window, qtbot, monkeypatch, tmp_path):
    from hatang_desktop.core.exchange.package import export_package
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    window, made, recs, department = commune_window
    with Database.open(window.db.path, readonly=True) as db:
        export_package(db, tmp_path / "goi.zip")
    altered = rewrite(tmp_path / "goi.zip", tmp_path / "goi_sua.zip", {f"anh/{made[2].file_name}": b"\xff\xd8 khac"})
    with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS):
        window.open_database(department)
    before = digest(department)
    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(str(altered))
    activate(window)
    menu_item(window, "Tệp", "Nhập sổ Excel…")
    dialog = shown(ExcelImportDialog)
    qtbot.waitUntil(lambda: dialog.problems_table.isVisible() or dialog.counts.isVisible(), timeout=WAIT_MS)
    assert dialog.problems_table.isVisible() and not dialog.apply_button.isEnabled()
    assert "1 lỗi" in dialog.status.text()
    t = dialog.problems_table
    cells = [t.item(0, c).text() for c in range(t.columnCount())]
    assert cells[0] == "Ảnh" and cells[3] == made[2].file_name, cells
    assert "bị thay đổi" in cells[4] and recs["pole"][1] in cells[4], cells
    click(button(dialog, "Đóng"))
    assert digest(department) == before and not photos.photo_dir(department).exists()
