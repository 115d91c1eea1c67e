"""Walks through the exchange with the department, using only what a person uses: menus opened and
items clicked with the mouse, typing, choosing in combo boxes, pressing buttons. Nothing calls the
methods behind a button; only the operating system's file dialog is replaced (it answers with the
file the person would pick).

(a) File > Xuất sổ Excel… for one commune, read back with python-calamine: only that commune's sites.
(b) That workbook edited outside the app (openpyxl: a height, a name, a new row), imported through
    File > Nhập sổ Excel… (preview counts, then "Nhập vào cơ sở dữ liệu"): the database and the map
    have the edits (patched in, not reloaded; the import is one undo step).
(c) View > the dashboard and the findings panel; the rule check run from the panel's button: the
    panel lists findings, the dashboard shows indicators.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import openpyxl
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QProgressBar, QRadioButton, QWidget
from python_calamine import CalamineWorkbook

from tests.ui.test_every_action import FileDialogs
from tests.ui.walk import LEFT, NO_MOD, activate, button, choose, clear_text, click, click_map, search_and_go, \
    settle, type_into

WAIT_MS = 60_000
SITES = "Trạm BTS"


# --------------------------------------------------------------------------- helpers (this file only)


def open_menu_item(window, menu_title: str, item: str) -> None:
    """Click a menu's title in the menu bar, then the item in the menu that drops down."""
    bar = window.menuBar()
    top = next((a for a in bar.actions() if a.text().replace("&", "") == menu_title), None)
    assert top is not None, [a.text() for a in bar.actions()]
    QTest.mouseClick(bar, LEFT, NO_MOD, bar.actionGeometry(top).center())
    settle(20)
    menu: QMenu = top.menu()
    assert menu.isVisible(), f"menu {menu_title!r} did not open"
    act = next((a for a in menu.actions() if a.text().replace("&", "") == item), None)
    assert act is not None, [a.text() for a in menu.actions()]
    assert act.isEnabled(), f"{item!r} is disabled"
    centre = menu.actionGeometry(act).center()
    QTest.mouseMove(menu, centre)
    settle(20)
    QTest.mouseClick(menu, LEFT, NO_MOD, centre)
    settle(20)
    assert not menu.isVisible(), f"menu {menu_title!r} stayed open after clicking {item!r}"


def shown(kind: type) -> QWidget:
    """The one visible top-level window of `kind`."""
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    assert len(found) == 1, found
    return found[0]


def radio(parent: QWidget, text: str) -> QRadioButton:
    found = [r for r in parent.findChildren(QRadioButton) if r.text() == text]
    assert len(found) == 1, [r.text() for r in parent.findChildren(QRadioButton)]
    return found[0]


def biggest_commune(db_path: Path) -> tuple[str, str, set[str]]:
    """The commune with the most sites in the sample: (code, name, uuids of its live sites)."""
    with sqlite3.connect(db_path) as conn:
        code = conn.execute("SELECT commune_code FROM sites WHERE deleted = 0 GROUP BY commune_code "
                            "ORDER BY count(*) DESC, commune_code LIMIT 1").fetchone()[0]
        name = conn.execute("SELECT name FROM admin_units WHERE code = ?", (code,)).fetchone()[0]
        uuids = {u for (u,) in conn.execute("SELECT uuid FROM sites WHERE deleted = 0 AND commune_code = ?",
                                            (code,))}
    return code, name, uuids


def sheet_rows(path: Path, sheet: str) -> list[dict]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:] if any(v not in ("", None) for v in r)]


def counts_table(dialog) -> dict[str, list[str]]:
    t = dialog.counts
    return {t.item(r, 0).text(): [t.item(r, c).text() for c in range(1, t.columnCount())]
            for r in range(t.rowCount())}


def export_commune_workbook(qtbot, window, code: str, out: Path) -> list[str]:
    """Walk (a)'s steps: File > Xuất sổ Excel…, one commune, its file name typed, Xuất, OK, Đóng.
    Returns the lines of the summary the dialog showed."""
    from hatang_desktop.ui.excel_export_dialog import ExcelExportDialog

    activate(window)
    open_menu_item(window, "Tệp", "Xuất sổ Excel…")
    dialog = shown(ExcelExportDialog)
    commune_radio = radio(dialog, "Một xã/phường:")
    assert not dialog.commune.isEnabled()  # the province is the default scope
    click(commune_radio)
    assert commune_radio.isChecked() and dialog.commune.isEnabled()
    choose(dialog.commune, code)
    clear_text(dialog.path_edit)
    type_into(dialog.path_edit, str(out))
    assert dialog.path_edit.text() == str(out)
    click(button(dialog, "Xuất"))
    # Done: the summary opens in a message box over the dialog.
    qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible() for w in dialog.findChildren(QWidget)),
                    timeout=WAIT_MS)
    message = next(w for w in dialog.findChildren(QMessageBox) if w.isVisible())
    lines = message.text().splitlines()
    click(message.button(QMessageBox.StandardButton.Ok))
    assert not message.isVisible()
    click(button(dialog, "Đóng"))
    assert not dialog.isVisible()
    return lines


# --------------------------------------------------------------------------- (a) export one commune


def test_export_one_commune_from_the_file_menu(window, qtbot, tmp_path):
    code, name, uuids = biggest_commune(window.db.path)
    out = tmp_path / "sổ_xã_phường.xlsx"
    lines = export_commune_workbook(qtbot, window, code, out)
    assert f"  • {SITES}: {len(uuids)}" in lines, lines
    assert out.exists()
    rows = sheet_rows(out, SITES)
    assert {r["UUID (không sửa)"] for r in rows} == uuids  # that commune's sites, all of them, no other
    assert {r["Xã/phường"] for r in rows} == {f"{name} ({code})"}
    meta = dict((r[0], r[1]) for r in CalamineWorkbook.from_path(str(out)).get_sheet_by_name("_metadata").to_python())
    assert (meta["scope"], meta["commune_code"]) == ("commune", code)


# --------------------------------------------------------------------------- (b) edit outside, import


def test_workbook_edited_outside_comes_back_through_the_import_dialog(window, qtbot, monkeypatch, tmp_path):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    code, name, uuids = biggest_commune(window.db.path)
    book = tmp_path / "so_xa.xlsx"
    export_commune_workbook(qtbot, window, code, book)

    # Outside the app: the department changes a site's height and name and types a new site.
    wb = openpyxl.load_workbook(book)
    ws = wb[SITES]
    headers = {c.value: c.column for c in ws[1]}
    edited = ws.cell(row=2, column=headers["UUID (không sửa)"]).value
    lat = float(ws.cell(row=2, column=headers["Vĩ độ"]).value)
    lon = float(ws.cell(row=2, column=headers["Kinh độ"]).value)
    ws.cell(row=2, column=headers["Tên trạm"], value="Trạm đổi tên ở Sở")
    ws.cell(row=2, column=headers["Chiều cao cột (m)"], value=57)
    new_row = ws.max_row + 1
    new_lat, new_lon = lat + 0.006, lon - 0.004
    for header, value in {"Mã trạm": "VT_SO_0001", "Doanh nghiệp": "Viettel", "Tên trạm": "Trạm mới của Sở",
                          "Xã/phường": f"{name} ({code})", "Vĩ độ": new_lat, "Kinh độ": new_lon,
                          "Loại cột anten": "Cột dây co", "Chiều cao cột (m)": 36,
                          "Trạng thái": "Đang hoạt động"}.items():
        ws.cell(row=new_row, column=headers[header], value=value)
    wb.save(book)

    # File > Nhập sổ Excel…: the person picks the workbook in the file dialog; the preview runs.
    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(str(book))
    activate(window)
    open_menu_item(window, "Tệp", "Nhập sổ Excel…")
    dialog = shown(ExcelImportDialog)
    assert dialog.path_edit.text() == str(book)
    qtbot.waitUntil(lambda: dialog.counts.isVisible() or dialog.problems_table.isVisible(), timeout=WAIT_MS)
    assert dialog.problems_table.isHidden(), [p.message for p in dialog.problems]
    table = counts_table(dialog)
    assert table[SITES][:4] == ["1", "1", "0", "0"], table  # inserted, updated, deleted, conflicts
    assert "Sổ hợp lệ" in dialog.status.text()
    with sqlite3.connect(window.db.path) as conn:
        assert conn.execute("SELECT count(*) FROM sites WHERE site_code = 'VT_SO_0001'").fetchone()[0] == 0

    # "Nhập vào cơ sở dữ liệu": the import runs, then the map shows what it changed (one undo step).
    click(button(dialog, "Nhập vào cơ sở dữ liệu"))
    qtbot.waitUntil(lambda: window.editor.stack.count() == 1, timeout=WAIT_MS)
    assert "thêm 1, cập nhật 1" in dialog.status.text(), dialog.status.text()
    click(button(dialog, "Đóng"))

    with sqlite3.connect(window.db.path) as conn:
        assert conn.execute("SELECT name, height_m FROM sites WHERE uuid = ?", (edited,)).fetchone() == \
            ("Trạm đổi tên ở Sở", 57)
        new = conn.execute("SELECT uuid, name, commune_code, height_m, operator_code FROM sites "
                           "WHERE site_code = 'VT_SO_0001' AND deleted = 0").fetchall()
        assert [n[1:] for n in new] == [("Trạm mới của Sở", code, 36, "VTL")]
        live = conn.execute("SELECT count(*) FROM sites WHERE deleted = 0").fetchone()[0]

    # The map shows them: one more site drawn; the new one found by the toolbar search; the renamed
    # one found by its new name, then identified by a click on it.
    sites = window.canvas.layers["sites"].data
    assert len(sites.uuid) == live and new[0][0] in set(sites.uuid)
    activate(window)
    search_and_go(window, "VT_SO_0001")
    assert window.identify_panel.feature is not None and window.identify_panel.feature.uuid == new[0][0]
    assert "Trạm mới của Sở" in window.identify_panel.view.toPlainText()
    x0, x1 = window.canvas.view.viewRange()[0]
    assert x1 - x0 < 5000  # zoomed to it
    window.identify_panel.clear()
    clear_text(window.search_box)
    search_and_go(window, "đổi tên ở Sở")
    assert window.identify_panel.feature is not None and window.identify_panel.feature.uuid == edited
    window.identify_panel.clear()
    click_map(window, lon, lat)
    assert window.identify_panel.feature is not None and window.identify_panel.feature.uuid == edited
    text = window.identify_panel.view.toPlainText()
    assert "Trạm đổi tên ở Sở" in text and "57" in text, text

    # The same workbook imported a second time (by mistake): nothing left to change, nothing to press.
    dialogs.answers.append(str(book))
    open_menu_item(window, "Tệp", "Nhập sổ Excel…")
    again = shown(ExcelImportDialog)
    assert again is not dialog
    qtbot.waitUntil(lambda: again.counts.isVisible() or again.problems_table.isVisible(), timeout=WAIT_MS)
    assert counts_table(again)[SITES][:4] == ["0", "0", "0", "0"], counts_table(again)
    assert "không có gì thay đổi" in again.status.text() and not again.apply_button.isEnabled()
    click(button(again, "Đóng"))
    assert dialogs.calls in (["open_file_name"] * 2, ["getOpenFileName"] * 2), dialogs.calls


# --------------------------------------------------------------------------- (c) dashboard and findings


def test_dashboard_and_findings_from_the_view_menu(window, qtbot):
    activate(window)
    open_menu_item(window, "Xem", "Chỉ tiêu hạ tầng số")
    dashboard = window.dashboard
    assert dashboard.isVisible()
    qtbot.waitUntil(lambda: dashboard.report is not None, timeout=WAIT_MS)
    assert "Hà Tĩnh" in dashboard.status.text()

    def shown_bars():
        return [b for b in dashboard.targets_box.findChildren(QProgressBar) if b.isVisibleTo(dashboard)]

    # A layout shows the widgets added to it on the next turn of the event loop (Qt queues it):
    # the bars appear a moment after the report, as they do on screen.
    qtbot.waitUntil(lambda: bool(shown_bars()), timeout=WAIT_MS)
    bars = shown_bars()
    assert all(b.property("indicator") for b in bars)
    assert "chỉ tiêu" in bars[0].format()
    assert dashboard.other_table.rowCount() > 0

    open_menu_item(window, "Xem", "Vi phạm")
    panel = window.findings_panel
    assert panel.isVisible()
    before = len(panel.all)
    with qtbot.waitSignal(panel.check_finished, timeout=WAIT_MS) as checked:
        click(button(panel, "Chạy kiểm tra"))
    result = checked.args[0]
    assert result is not None, window.statusBar().currentMessage()
    assert window.statusBar().currentMessage().startswith("Đã kiểm tra:")
    assert panel.run_button.isEnabled()
    listed = panel.proxy.rowCount()
    assert listed > 0 and len(panel.all) >= before
    assert panel.summary.text().startswith(f"{listed} / {len(panel.all)} vi phạm")
    rules = {panel.proxy.index(r, 2).data() for r in range(listed)}
    assert rules - {"Thanh tra ghi nhận (khác)"}, rules  # findings of the rules, not only inspectors'
