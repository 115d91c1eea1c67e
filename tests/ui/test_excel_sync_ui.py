"""The Excel sync dialogs, driven programmatically: export, preview, apply, conflicts, problems."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from hatang_desktop.core.exchange.conflicts import list_conflicts
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.model import Site
from hatang_desktop.core.storage.database import Database
from tests.core.test_excel_sync import edit_cells
from tests.core.test_handtyped_import import bts_list

SITES = "Trạm BTS"
WAIT_MS = 60_000


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sites(path: Path, n: int) -> list[Site]:
    with Database.open(path, readonly=True) as db, db.session() as s:
        return list(s.scalars(select(Site).where(Site.deleted.is_(False), Site.tower_type == "ground_tower")
                              .order_by(Site.id).limit(n)))


@pytest.fixture
def workbook(sample_db_path, tmp_path) -> Path:
    out = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, out)
    return out


def preview(qtbot, dialog, path):
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT_MS):
        dialog.set_file(path)


def counts_in_table(dialog) -> dict[str, list[str]]:
    t = dialog.counts
    return {t.item(r, 0).text(): [t.item(r, c).text() for c in range(1, t.columnCount())]
            for r in range(t.rowCount())}


def test_export_dialog_writes_a_workbook_core_reads_back(qtbot, sample_db_path, tmp_path):
    from hatang_desktop.ui.excel_export_dialog import ExcelExportDialog

    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        commune = s.scalars(select(Site.commune_code).where(Site.deleted.is_(False))).first()
    dialog = ExcelExportDialog(sample_db_path, [(commune, "Phường Thành Sen"), ("99999", "Xã khác")])
    qtbot.addWidget(dialog)
    dialog.set_scope(commune)
    out = tmp_path / "xã.xlsx"
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS) as signal:
        dialog.start_export(out)
    result = signal.args[0]
    assert out.exists() and dialog.error is None
    n_sites = result.rows["sites"]
    assert 0 < n_sites < 300  # one commune's sites, not the province's
    assert f"Trạm BTS: {n_sites}" in dialog.status.text()
    dialog.message.close()
    with Database.open(sample_db_path, readonly=True) as db:
        back = import_workbook(db, out, dry_run=True)
    assert back.total["unchanged"] == sum(result.rows.values())
    assert back.counts["sites"]["unchanged"] == n_sites


def test_export_dialog_reports_a_bad_target(qtbot, sample_db_path, tmp_path):
    from hatang_desktop.ui.excel_export_dialog import ExcelExportDialog

    dialog = ExcelExportDialog(sample_db_path, [])
    qtbot.addWidget(dialog)
    dialog.start_export(tmp_path / "khong_co" / "so.xlsx")
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=WAIT_MS)
    assert "thư mục không tồn tại" in dialog.status.text()


def test_preview_shows_counts_and_apply_changes_the_database(qtbot, sample_db_path, workbook):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    a, b = sites(sample_db_path, 2)
    edit_cells(workbook, SITES, a.uuid, {"Tên trạm": "Trạm đổi tên ở Sở"})
    edit_cells(workbook, SITES, b.uuid, {"Chiều cao cột (m)": 57})
    before = digest(sample_db_path)
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    preview(qtbot, dialog, workbook)
    table = counts_in_table(dialog)
    assert table["Trạm BTS"][:4] == ["0", "2", "0", "0"]  # inserted, updated, deleted, conflicts
    assert dialog.apply_button.isEnabled() and dialog.problems_table.isHidden()
    assert digest(sample_db_path) == before  # the preview is a dry run
    with qtbot.waitSignal(dialog.imported, timeout=WAIT_MS) as signal:
        dialog.apply()
    assert signal.args[0].applied and signal.args[0].backup.exists()
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        assert s.get(Site, a.id).name == "Trạm đổi tên ở Sở"
        assert s.get(Site, b.id).height_m == 57
    assert "cập nhật 2" in dialog.status.text()


def _conflicting_import(qtbot, sample_db_path, workbook, n=2):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    chosen = sites(sample_db_path, n)
    for i, site in enumerate(chosen):
        edit_cells(workbook, SITES, site.uuid, {"Tên trạm": f"Tên theo Sở {i}"})
    with Database.open(sample_db_path) as db, db.operation("local", user="Cán bộ xã") as s:
        for i, site in enumerate(chosen):
            s.get(Site, site.id).name = f"Tên theo xã {i}"
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    preview(qtbot, dialog, workbook)
    assert counts_in_table(dialog)["Trạm BTS"][3] == str(n)
    with qtbot.waitSignal(dialog.imported, timeout=WAIT_MS):
        dialog.apply()
    conflicts = dialog.conflict_dialog
    assert conflicts is not None and conflicts.table.rowCount() == n
    qtbot.addWidget(conflicts)
    return chosen, conflicts


def test_conflicts_resolved_through_the_dialog_both_ways(qtbot, sample_db_path, workbook):
    (a, b, c), dialog = _conflicting_import(qtbot, sample_db_path, workbook, n=3)
    t = dialog.table
    rows = {t.item(r, 3).text(): r for r in range(t.rowCount())}
    assert t.item(rows["Tên theo xã 0"], 4).text() == "Tên theo Sở 0"
    assert t.item(rows["Tên theo xã 0"], 2).text() == "Tên trạm"
    assert a.site_code in t.item(rows["Tên theo xã 0"], 1).text()
    assert dialog.resolve_row(rows["Tên theo xã 0"], "theirs")
    rows = {t.item(r, 3).text(): r for r in range(t.rowCount())}
    assert dialog.resolve_row(rows["Tên theo xã 1"], "local")
    rows = {t.item(r, 3).text(): r for r in range(t.rowCount())}
    assert dialog.resolve_row(rows["Tên theo xã 2"], "edited", "Tên đã thống nhất")
    assert t.rowCount() == 0 and "Không còn xung đột" in dialog.status.text()
    with Database.open(sample_db_path, readonly=True) as db:
        with db.session() as s:
            assert s.get(Site, a.id).name == "Tên theo Sở 0"
            assert s.get(Site, b.id).name == "Tên theo xã 1"
            assert s.get(Site, c.id).name == "Tên đã thống nhất"
        assert list_conflicts(db) == []


def test_keep_all_from_the_workbook(qtbot, sample_db_path, workbook):
    (a, b), dialog = _conflicting_import(qtbot, sample_db_path, workbook)
    assert dialog.keep_all("theirs")
    with Database.open(sample_db_path, readonly=True) as db:
        with db.session() as s:
            assert [s.get(Site, x.id).name for x in (a, b)] == ["Tên theo Sở 0", "Tên theo Sở 1"]
        assert list_conflicts(db) == []


def test_an_invalid_workbook_shows_every_problem_and_writes_nothing(qtbot, sample_db_path, workbook):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    a, b = sites(sample_db_path, 2)
    edit_cells(workbook, SITES, a.uuid, {"Chiều cao cột (m)": "cao lắm"})
    edit_cells(workbook, SITES, b.uuid, {"Doanh nghiệp": "Không rõ"})
    before = digest(sample_db_path)
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    preview(qtbot, dialog, workbook)
    t = dialog.problems_table
    assert t.isVisibleTo(dialog) and t.rowCount() == len(dialog.problems) >= 2
    cells = [[t.item(r, c).text() for c in range(5)] for r in range(t.rowCount())]
    assert any(row[0] == SITES and row[2] == "Chiều cao cột (m)" and row[3] == "cao lắm" for row in cells)
    # "Không rõ" reads as the unknown operator, which only a site to verify may have (schema 5).
    assert any(row[2] == "Doanh nghiệp" and "Chưa xác định" in row[4] for row in cells)
    # The message column speaks the window's language only, never the bilingual line.
    assert any(row[2] == "Chiều cao cột (m)" and row[4] == "'cao lắm' không phải là số" for row in cells)
    assert not dialog.apply_button.isEnabled() and dialog.apply() is None
    assert "2 lỗi" in dialog.status.text() or "lỗi" in dialog.status.text()
    assert digest(sample_db_path) == before


def test_a_broken_file_is_a_clear_message(qtbot, sample_db_path, tmp_path):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    fake = tmp_path / "danh_sach.xlsx"
    fake.write_text("Mã trạm,Tên trạm\nVT1,Trạm 1\n", encoding="utf-8")
    before = digest(sample_db_path)
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    preview(qtbot, dialog, fake)
    assert "CSV" in dialog.status.text() and not dialog.apply_button.isEnabled()
    assert digest(sample_db_path) == before


def test_hand_typed_list_mapping_can_be_corrected(qtbot, sample_db_path, tmp_path):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    path = bts_list(tmp_path / "ds.xlsx", [
        ["Trạm Thành Sen A", "VT_HT_9001", "VIETTEL", "18°20'30\"N", "105°54'18\"E", "Cot tu dung",
         "2G/3G/4G", "Thanh Sen", "Cao 40m"],
    ], headers_top=["STT", "Ten tram", "Ma tram", "Doanh nghiep", "Toa do", None, "Loai cot", "Cong nghe",
                    "Xa/phuong", "Dien giai"],
        headers=[None, None, None, None, "Vi do", "Kinh do", None, None, None, None])
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    preview(qtbot, dialog, path)
    combos = {header: combo for _sheet, header, combo in dialog.combos}
    assert combos["Ten tram"].currentData() == "name"
    assert combos["Dien giai"].currentData() is None  # not understood: ignored
    rules = [dialog.matching_table.item(r, 4).text() for r in range(dialog.matching_table.rowCount())]
    assert rules == ["bản ghi mới"]
    combos["Dien giai"].setCurrentIndex(combos["Dien giai"].findData("note"))
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT_MS):
        dialog.run_preview()
    assert dialog.mapping["DS tram"]["Dien giai"] == "note"
    with qtbot.waitSignal(dialog.imported, timeout=WAIT_MS):
        dialog.apply()
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        site = s.scalars(select(Site).where(Site.site_code == "VT_HT_9001")).one()
        assert site.note == "Cao 40m" and site.name == "Trạm Thành Sen A"
    # The same list again: the row now matches the site by operator and code.
    preview(qtbot, dialog, path)
    rules = [dialog.matching_table.item(r, 4).text() for r in range(dialog.matching_table.rowCount())]
    assert rules == ["doanh nghiệp + mã trạm"]


def test_file_menu_has_the_excel_entries(window):
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert {"Xuất sổ &Excel…", "N&hập sổ Excel…", "&Xung đột…"} <= set(texts)
    dialog = window.show_conflicts()
    assert dialog.table.rowCount() == 0 and "Không còn xung đột" in dialog.status.text()
    dialog.close()
