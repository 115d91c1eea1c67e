"""Tệp > In bản đồ… as a user does it: Ctrl+P, pick the commune, A3 and the VN-2000 grid, type
the file name, press Ghi PDF; the PDF is the sheet `hatang report map` writes."""

from __future__ import annotations

import sqlite3

from PySide6.QtWidgets import QApplication
from pypdf import PdfReader

from hatang_desktop.ui.map_sheet_dialog import MapSheetDialog

from . import walk


def _open(window) -> list:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, MapSheetDialog) and w.isVisible() and w.parentWidget() is window]


def _shown(window):
    found = _open(window)
    assert len(found) == 1, found
    return found[0]


def test_print_map_sheet_from_the_file_menu(window, qtbot, sample_db_path, tmp_path):
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "&In bản đồ…" in texts
    conn = sqlite3.connect(sample_db_path)
    code, name = conn.execute(
        "SELECT a.code, a.name FROM sites s JOIN admin_units a ON a.code = s.commune_code "
        "GROUP BY a.code ORDER BY count(*) DESC LIMIT 1").fetchone()
    conn.close()

    walk.activate(window)
    walk.press(window, "Ctrl+P")
    qtbot.waitUntil(lambda: bool(_open(window)), timeout=5000)
    dialog = _shown(window)
    assert not dialog.basemap.isEnabled()  # no basemap open: nothing to offer
    walk.choose(dialog.commune, code)
    walk.choose(dialog.paper, "A3")
    walk.choose(dialog.grid, "vn2000")
    out = tmp_path / "bản đồ thành sen.pdf"
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(out))
    dialog.grab().save(str(tmp_path / "dialog.png"))
    with qtbot.waitSignal(dialog.written, timeout=60000):
        walk.click(walk.button(dialog, "Ghi PDF"))
    assert "1:" in dialog.message.text() and str(out) in dialog.message.text()
    page = PdfReader(out).pages[0]
    assert [round(float(v)) for v in page.mediabox.upper_right] == [1191, 842]  # A3 landscape
    text = page.extract_text()
    assert name.upper() in text and "VN-2000" in text


def test_a_failed_write_is_a_message_and_no_file(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    said = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: said.append(a[2])))
    walk.activate(window)
    walk.press(window, "Ctrl+P")
    qtbot.waitUntil(lambda: bool(_open(window)), timeout=5000)
    dialog = _shown(window)
    out = tmp_path / "khong_co" / "ban_do.pdf"  # a folder that does not exist
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(out))
    walk.click(walk.button(dialog, "Ghi PDF"))
    qtbot.waitUntil(lambda: bool(said), timeout=30000)
    assert "thư mục không tồn tại" in said[0] and not out.exists()
    assert walk.button(dialog, "Ghi PDF").isEnabled()
