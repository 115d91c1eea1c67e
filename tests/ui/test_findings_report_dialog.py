"""Tệp > Báo cáo kết quả kiểm tra… as a user does it: the File menu, a commune, an operator and a
severity chosen, the file name typed, Ghi báo cáo pressed; the PDF lists exactly that scope's
findings, the same as `hatang report findings --commune --operator --severity` writes."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from PySide6.QtWidgets import QApplication

from hatang_desktop.core.reports.findings import gather
from hatang_desktop.core.rules import run_check
from hatang_desktop.core.storage.targets import open_database
from hatang_desktop.ui.findings_report_dialog import FindingsReportDialog

from . import walk
from .test_user_walks_exchange import open_menu_item

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")


def _open(window) -> list:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, FindingsReportDialog) and w.isVisible() and w.parentWidget() is window]


@pytest.fixture
def checked(sample_db_path):
    with open_database(sample_db_path) as db:
        db.user = "tester"
        run_check(db)
    return sample_db_path


@pytest.fixture
def checked_window(checked, window):
    """The main window on the checked sample (the findings stored before the window opens it)."""
    return window


def _dialog(window, qtbot) -> FindingsReportDialog:
    walk.activate(window)
    open_menu_item(window, "Tệp", "Báo cáo kết quả kiểm tra…")
    qtbot.waitUntil(lambda: bool(_open(window)), timeout=5000)
    found = _open(window)
    assert len(found) == 1, found
    return found[0]


def test_scoped_findings_report_from_the_file_menu(checked_window, qtbot, checked, tmp_path):
    with open_database(checked, readonly=True) as db:
        province = gather(db, with_photos=False).active
    commune = province["commune_code"].value_counts().index[0]
    operator = province[province["commune_code"] == commune]["operator_code"].value_counts().index[0]
    with open_database(checked, readonly=True) as db:
        expected = gather(db, commune=commune, operator=operator, severity="violation", with_photos=False).active
    assert len(expected) > 0

    dialog = _dialog(checked_window, qtbot)
    walk.choose(dialog.commune, commune)
    walk.choose(dialog.operator, operator)
    walk.choose(dialog.severity, "violation")
    assert dialog.details.currentData() == "auto" and dialog.details.isEnabled()
    out = tmp_path / "báo cáo xã.pdf"
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(out))
    with qtbot.waitSignal(dialog.written, timeout=60000):
        walk.click(walk.button(dialog, "Ghi báo cáo"))
    assert str(out) in dialog.message.text() and "trang" in dialog.message.text()
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert f"({commune})" in text and "mức độ: vi phạm" in text
    assert len(re.findall(r"Phát hiện ngày \d\d/\d\d/\d{4}", text)) == len(expected)
    assert all(r in text for r in expected["record"])
    assert "Cảnh báo · " not in text and "Thông tin · " not in text

    # The whole province, summary only: nothing listed.
    walk.choose(dialog.commune, text="Toàn tỉnh")
    walk.choose(dialog.operator, text="Tất cả doanh nghiệp")
    walk.choose(dialog.severity, text="Mọi mức độ")
    walk.choose(dialog.details, "none")
    whole = tmp_path / "toan_tinh.pdf"
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(whole))
    with qtbot.waitSignal(dialog.written, timeout=60000):
        walk.click(walk.button(dialog, "Ghi báo cáo"))
    text = subprocess.run(["pdftotext", "-layout", str(whole), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Phạm vi: Toàn tỉnh" in text and "Phát hiện ngày" not in text and "II. TỔNG HỢP THEO XÃ/PHƯỜNG" in text


def test_workbook_takes_the_scope_and_lists_every_finding(checked_window, qtbot, checked, tmp_path):
    dialog = _dialog(checked_window, qtbot)
    walk.choose(dialog.severity, "warning")
    out = tmp_path / "canh_bao.xlsx"
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(out))
    assert not dialog.details.isEnabled()  # a workbook is filtered, not paged: always the whole list
    with qtbot.waitSignal(dialog.written, timeout=60000):
        walk.click(walk.button(dialog, "Ghi báo cáo"))
    with open_database(checked, readonly=True) as db:
        warnings = gather(db, severity="warning", with_photos=False).active
    rows = list(load_workbook(out)["Vi phạm"].iter_rows(min_row=5, values_only=True))
    assert len(rows) == len(warnings) > 0 and {r[6] for r in rows} == {"Cảnh báo"}


def test_bad_file_is_a_message_and_no_file(checked_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    said = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: said.append(a[2])))
    dialog = _dialog(checked_window, qtbot)
    out = tmp_path / "khong_co" / "bao_cao.pdf"
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(out))
    walk.click(walk.button(dialog, "Ghi báo cáo"))
    qtbot.waitUntil(lambda: bool(said), timeout=30000)
    assert "thư mục không tồn tại" in said[0] and not out.exists()
    assert walk.button(dialog, "Ghi báo cáo").isEnabled()
