"""Issue 16 in the window: the import preview names what it will not take; a form saved with
only its name changed leaves the position as stored."""

from __future__ import annotations

import openpyxl
from sqlalchemy import text

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.storage.database import Database

WAIT_MS = 60_000


def test_preview_names_a_header_it_does_not_understand(qtbot, sample_db_path, tmp_path):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    book = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, book)
    wb = openpyxl.load_workbook(book)
    ws = wb["Trạm BTS"]
    for cell in ws[1]:
        if cell.value == "Tên trạm":
            cell.value = "Tên gọi khác của trạm"
        elif cell.value == "Chiều cao cột (m)":
            ws.delete_cols(cell.column)
            break
    wb.save(book)
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT_MS):
        dialog.set_file(book)
    assert dialog.warnings.isVisibleTo(dialog)
    shown = dialog.warnings.text()
    assert "'Tên gọi khác của trạm'" in shown and "'Chiều cao cột (m)'" in shown and "'Tên trạm'" in shown
    assert not dialog.apply_button.isEnabled()  # nothing else changed: nothing to apply


def test_saving_the_form_with_a_new_name_keeps_the_position(window):
    """The form shows lat/lon to 7 decimals; saving it after a name change writes the name only."""
    db = window.db
    with db.session() as s:
        uuid, lat, lon = s.execute(text("SELECT uuid, lat, lon FROM sites WHERE deleted = 0 AND "
                                        "round(lat, 7) != lat AND round(lon, 7) != lon ORDER BY id LIMIT 1")).one()
    dialog = window.editor.make_form("sites", uuid)
    name = dialog.form_widget.fields["name"].edit
    name.setText(name.text() + " (sửa)")
    assert dialog.save() is True
    with db.session() as s:
        assert s.execute(text("SELECT lat, lon FROM sites WHERE uuid = :u"), {"u": uuid}).one() == (lat, lon)
        logged = [f for (f,) in s.execute(text("SELECT field FROM change_log WHERE record_uuid = :u AND "
                                               "action = 'update'"), {"u": uuid})]
    assert logged == ["name"]
