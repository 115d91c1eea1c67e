"""Issue 16 in the window: the import preview names what it will not take; a form saved with
only its name changed leaves the position as stored."""

from __future__ import annotations

import openpyxl
from sqlalchemy import text

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.storage.database import Database

WAIT_MS = 60_000


def test_preview_names_what_it_will_not_read(qtbot, sample_db_path, tmp_path):
    """A header renamed beyond recognition, and a column deleted: both named above the counts."""
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    book = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, book)
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    for changed, header, said in ((tmp_path / "renamed.xlsx", "Tên trạm", ("'Tên gọi khác của trạm'", "'Tên trạm'")),
                                  (tmp_path / "deleted.xlsx", "Chiều cao cột (m)", ("'Chiều cao cột (m)'", "giữ nguyên"))):
        wb = openpyxl.load_workbook(book)
        ws = wb["Trạm BTS"]
        [cell] = [c for c in ws[1] if c.value == header]
        if header == "Tên trạm":
            cell.value = "Tên gọi khác của trạm"
        else:
            ws.delete_cols(cell.column)
        wb.save(changed)
        with qtbot.waitSignal(dialog.previewed, timeout=WAIT_MS):
            dialog.set_file(changed)
        assert dialog.warnings.isVisibleTo(dialog) and dialog.problems_table.isHidden()
        assert all(s in dialog.warnings.text() for s in said), dialog.warnings.text()
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
