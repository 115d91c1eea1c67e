"""The Excel import walked as the department walks it (issue 20): the preview lists the insert, the
two updates with their fields old -> new and the deletion with its tenants, narrowed by its filter
and search box; applying keeps the map's view and the chosen commune; Ctrl+Z asks, then reverts
exactly what the import wrote, and is refused when a record was edited since."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from hatang_desktop.core import editing
from hatang_desktop.core.operators import BY_CODE

from ..edited_workbook import NEW_CODE, edit_exported
from . import walk
from .test_every_action import FileDialogs
from .test_user_walks_exchange import WAIT_MS, open_menu_item, shown

TABLES = ("sites", "site_tenants")
BOOKKEEPING = {"id", "version", "updated_at", "updated_by", "source"}


def rows_of(path) -> dict[str, dict[str, tuple]]:
    """Every row of the tables an import of sites touches, by uuid, without the bookkeeping columns."""
    out = {}
    with sqlite3.connect(path) as conn:
        for table in TABLES:
            cursor = conn.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            keep = [i for i, n in enumerate(names) if n not in BOOKKEEPING]
            out[table] = {row[names.index("uuid")]: tuple(row[i] for i in keep) for row in cursor}
    return out


def open_import(window, qtbot, monkeypatch, book):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(str(book))
    walk.activate(window)
    # The pointer starts off the menu: a menu that opens under a pointer already there gets no
    # move (the item is never hovered, and the click on it does nothing).
    QTest.mouseMove(window.canvas.viewport(), QPoint(10, 10))
    walk.settle(QApplication.doubleClickInterval() + 30)
    open_menu_item(window, "Tệp", "Nhập sổ Excel…")
    dialog = shown(ExcelImportDialog)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled() or dialog.problems_table.isVisible(), timeout=WAIT_MS)
    assert dialog.problems_table.isHidden(), [p.message for p in dialog.problems]
    return dialog


def listed(dialog) -> list[tuple[list[str], list[str]]]:
    """The plan list as it reads: per record its columns, then its detail lines."""
    tree = dialog.plan_box.tree
    out = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        out.append(([item.text(c) for c in range(4)], [item.child(k).text(0) for k in range(item.childCount())]))
    return out


def apply_and_close(window, qtbot, dialog) -> None:
    before = window.editor.stack.count()
    walk.click(walk.button(dialog, "Nhập vào cơ sở dữ liệu"))
    qtbot.waitUntil(lambda: window.editor.stack.count() == before + 1, timeout=WAIT_MS)
    walk.click(walk.button(dialog, "Đóng"))
    walk.activate(window)


def test_the_preview_lists_each_record_with_its_fields_and_its_tenants_and_filters_them(
        window, qtbot, monkeypatch, tmp_path):
    edited = edit_exported(window.db.path, tmp_path / "so.xlsx")
    dialog = open_import(window, qtbot, monkeypatch, edited.path)
    box = dialog.plan_box
    assert box.isVisible()
    rows = listed(dialog)
    assert sorted(r[0][0] for r in rows) == ["Cập nhật", "Cập nhật", "Thêm", "Xóa"]
    by_code = {r[0][2]: r for r in rows}
    with sqlite3.connect(window.db.path) as conn:
        code = dict(conn.execute("SELECT uuid, site_code FROM sites").fetchall())
    renamed = by_code[code[edited.renamed]]
    assert renamed[0][3] == "Trạm đổi tên ở Sở"
    assert renamed[1] == [f"Tên trạm: {edited.old_name} → Trạm đổi tên ở Sở", "Chiều cao cột: 35 → 57"]
    assert by_code[code[edited.retyped]][1] == [f"Loại cột anten: {edited.old_tower} → Cột dây co"]
    deleted = by_code[edited.deleted_code]
    assert sorted(deleted[1]) == sorted(f"xóa kèm: Doanh nghiệp trên trạm: {BY_CODE[op].brand}" + techs
                                        for op, techs in zip(edited.deleted_tenants, _techs(window, edited)))
    new = by_code[NEW_CODE]
    assert new[1][0] == "⚠ thiếu: Loại cột anten, Công nghệ" and new[1][1].startswith("gán xã theo vị trí: ")

    # The filter: deletions only, then warnings only; the search: one site by part of its name.
    walk.choose(box.filter_combo, "delete")
    assert [r[0][2] for r in listed(dialog)] == [edited.deleted_code]
    assert box.filter_combo.currentText() == "Xóa (1)"
    walk.choose(box.filter_combo, "warnings")
    assert [r[0][2] for r in listed(dialog)] == [NEW_CODE]
    walk.choose(box.filter_combo, "all")
    walk.type_into(box.search_edit, "doi ten")   # typed without accents, as people do
    assert [r[0][2] for r in listed(dialog)] == [code[edited.renamed]]
    assert box.shown_label.text() == "1/4 bản ghi"
    walk.clear_text(box.search_edit)
    assert len(listed(dialog)) == 4
    walk.click(walk.button(dialog, "Đóng"))


def _techs(window, edited) -> list[str]:
    with sqlite3.connect(window.db.path) as conn:
        flags = {op: f for op, *f in conn.execute(
            "SELECT operator_code, has_2g, has_3g, has_4g, has_5g FROM site_tenants WHERE site_uuid = ? AND deleted = 0",
            (edited.deleted,))}
    return [" (" + ", ".join(t for t, on in zip(("2G", "3G", "4G", "5G"), flags[op]) if on) + ")"
            if any(flags[op]) else "" for op in edited.deleted_tenants]


def test_applying_keeps_the_view_and_the_chosen_commune(window, qtbot, monkeypatch, tmp_path):
    commune = window.communes[3]
    walk.activate(window)
    walk.choose(window.commune_combo, commune.code)
    walk.settle(50)
    view = [v for pair in window.canvas.view.viewRange() for v in pair]
    edited = edit_exported(window.db.path, tmp_path / "so.xlsx")
    dialog = open_import(window, qtbot, monkeypatch, edited.path)
    apply_and_close(window, qtbot, dialog)
    walk.settle(50)
    assert window.commune_combo.currentData() == commune.code
    assert [v for pair in window.canvas.view.viewRange() for v in pair] == pytest.approx(view)


def test_ctrl_z_asks_then_reverts_exactly_what_the_import_wrote(window, qtbot, monkeypatch, tmp_path):
    edited = edit_exported(window.db.path, tmp_path / "so.xlsx")
    before = rows_of(window.db.path)
    dialog = open_import(window, qtbot, monkeypatch, edited.path)
    apply_and_close(window, qtbot, dialog)
    after = rows_of(window.db.path)
    assert after != before and editing.read_values(window.db, "sites", edited.deleted)["deleted"] is True

    def answer(button):
        def act(box):
            assert isinstance(box, QMessageBox) and "Nhập sổ Excel so.xlsx" in box.text(), box.text()
            walk.click(box.button(button))
        return act

    # "No": nothing happens, the step stays.
    waiting = walk.when_modal(answer(QMessageBox.StandardButton.No))
    walk.press(window, "Ctrl+Z")
    waiting.done()
    assert rows_of(window.db.path) == after and window.editor.stack.index() == 1
    # "Yes": every row and value as before the import (the new site tombstoned, the deleted site
    # and its tenants live again, the two sites' old values back).
    waiting = walk.when_modal(answer(QMessageBox.StandardButton.Yes))
    walk.press(window, "Ctrl+Z")
    waiting.done()
    now = rows_of(window.db.path)
    (new_uuid,) = set(now["sites"]) - set(before["sites"])
    assert editing.read_values(window.db, "sites", new_uuid)["deleted"] is True
    del now["sites"][new_uuid]
    assert now == before
    with sqlite3.connect(window.db.path) as conn:   # the undo is an operation of its own, in the log
        assert conn.execute("SELECT description FROM operations ORDER BY id DESC LIMIT 1").fetchone() == (
            "Hoàn tác: Nhập sổ Excel so.xlsx",)
    assert window.editor.act_undo.isEnabled() is False and "Nhập sổ Excel" in window.editor.act_redo.text()
    assert QApplication.activeModalWidget() is None


def test_an_import_whose_record_was_edited_since_is_not_undone(window, qtbot, monkeypatch, tmp_path):
    edited = edit_exported(window.db.path, tmp_path / "so.xlsx")
    dialog = open_import(window, qtbot, monkeypatch, edited.path)
    apply_and_close(window, qtbot, dialog)
    after = rows_of(window.db.path)
    # Another window (here: the core, as a second app would) edits an imported site afterwards.
    values = editing.read_values(window.db, "sites", edited.renamed)
    values = {k: v for k, v in values.items() if k not in ("uuid", "deleted", "version")} | {"name": "Sửa sau khi nhập"}
    editing.save_record(window.db, "sites", values, uuid=edited.renamed)
    edited_after = rows_of(window.db.path)
    messages = []

    def yes(box):
        walk.click(box.button(QMessageBox.StandardButton.Yes))

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda _p, _t, text: messages.append(text)))
    waiting = walk.when_modal(yes)
    walk.press(window, "Ctrl+Z")
    waiting.done()
    assert rows_of(window.db.path) == edited_after != after
    with sqlite3.connect(window.db.path) as conn:
        (code,) = conn.execute("SELECT site_code FROM sites WHERE uuid = ?", (edited.renamed,)).fetchone()
    assert len(messages) == 1, messages
    assert f"Trạm BTS {code} đã bị thay đổi sau thao tác này; không thể hoàn tác" in messages[0], messages


def test_a_boundary_import_keeps_the_chosen_commune_and_the_view(window, qtbot, monkeypatch, tmp_path):
    import json

    from hatang_desktop.ui.gis_dialogs import GisImportDialog

    chosen, other = window.communes[3], window.communes[5]
    walk.activate(window)
    walk.choose(window.commune_combo, chosen.code)
    walk.settle(50)
    view = [v for pair in window.canvas.view.viewRange() for v in pair]
    with sqlite3.connect(window.db.path) as conn:
        x, y = conn.execute("SELECT centre_lon, centre_lat FROM admin_units WHERE code = ?", (other.code,)).fetchone()
    path = tmp_path / "ranh_gioi.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": other.code, "name": other.name},
        "geometry": {"type": "Polygon", "coordinates": [[[x - .01, y - .01], [x + .01, y - .01], [x + .01, y + .01],
                                                         [x - .01, y + .01], [x - .01, y - .01]]]}}]},
        ensure_ascii=False), encoding="utf-8")
    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(str(path))
    QTest.mouseMove(window.canvas.viewport(), QPoint(10, 10))
    walk.settle(QApplication.doubleClickInterval() + 30)
    open_menu_item(window, "Tệp", "Nhập dữ liệu GIS…")
    dialog = shown(GisImportDialog)
    walk.click(walk.button(dialog, "Chọn…"))
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT_MS)
    before = window.editor.stack.count()
    walk.click(dialog.apply_button)
    qtbot.waitUntil(lambda: window.editor.stack.count() == before + 1, timeout=WAIT_MS)
    walk.click(walk.button(dialog, "Đóng"))
    walk.settle(50)
    assert window.commune_combo.currentData() == chosen.code
    assert [v for pair in window.canvas.view.viewRange() for v in pair] == pytest.approx(view)
