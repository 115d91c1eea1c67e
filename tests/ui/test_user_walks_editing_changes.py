"""An edit redraws what it changed, walked as a user walks it: the tool's shortcut, a click on the
map, the form typed into and saved, a drag, Ctrl+Z and Ctrl+Y, an Excel import from the File menu
undone with Ctrl+Z. Reading the whole map again (read_map) fails the walk: each step must show on
the map, in the counts and in the identify panel through the change it made alone.
"""

from __future__ import annotations

import sqlite3

import openpyxl
import pytest
from PySide6.QtWidgets import QMessageBox

from hatang_desktop.core import editing
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.ui.strings import format_int, tr

from . import walk
from .test_every_action import FileDialogs
from .test_user_walks_editing import first, layer_position, near, press_save, tool_on
from .test_user_walks_exchange import WAIT_MS, open_menu_item, shown

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.fixture
def user(window, monkeypatch):
    """The sample window, active; from here on nothing may read the whole map again."""
    import hatang_desktop.core.map_data as map_data
    import hatang_desktop.ui.loader as loader
    import hatang_desktop.ui.main_window as main_window
    import hatang_desktop.ui.window_data as window_data

    def no_full_read(*_args, **_kwargs):
        raise AssertionError("the whole map was read again after an edit")

    for module in (map_data, loader, main_window, window_data):
        if hasattr(module, "read_map"):
            monkeypatch.setattr(module, "read_map", no_full_read)
    walk.activate(window)
    assert not window.db.readonly and window.editor.stack.count() == 0
    return window


def live_sites(window) -> int:
    with sqlite3.connect(window.db.path) as conn:
        return conn.execute("SELECT count(*) FROM sites WHERE deleted = 0").fetchone()[0]


def counts_say(window, sites: int) -> None:
    """The status bar and the layer panel count `sites` sites."""
    with sqlite3.connect(window.db.path) as conn:
        poles, routes = (conn.execute(f"SELECT count(*) FROM {t} WHERE deleted = 0").fetchone()[0]
                         for t in ("poles", "fibre_routes"))
    assert window.counts_label.text() == tr("status_counts_short", sites=format_int(sites), poles=format_int(poles),
                                            routes=format_int(routes))
    row = window.layer_panel._rows["sites"].text(0)
    assert f"({format_int(sites)})" in row, row


def drawn(window, uuid) -> bool:
    layer = window.canvas.layers["sites"]
    i = layer.index_of(uuid)
    if i is None:
        return False
    # In the item the canvas paints too, not only in the layer's arrays.
    xs, ys = layer.scatter.points()
    return bool(((xs == layer.data.x[i]) & (ys == layer.data.y[i])).any())


def test_a_site_added_on_the_map_shows_without_reading_the_map_again(user):
    window = user
    code, lon0, lat0 = first(window.db, "SELECT site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    walk.search_and_go(window, code)
    n = live_sites(window)
    counts_say(window, n)
    lon, lat = lon0 + 0.0021, lat0 - 0.0013

    walk.press(window, "Ctrl+1")
    tool_on(window, "add_sites")

    def fill(d):
        f = d.form_widget.fields
        walk.type_into(f["site_code"].edit, "HT-CHG-001")
        walk.choose(f["operator_code"].combo, "MBF")
        walk.choose(f["tower_type"].combo, "ground_tower")
        walk.type_into(f["permit_no"].edit, "GP-1/2025")
        walk.type_into(f["height_m"].edit, "30")
        press_save(d)

    waiting = walk.when_modal(fill)
    walk.click_map(window, lon, lat)
    waiting.done()

    (uuid,) = first(window.db, "SELECT uuid FROM sites WHERE site_code = 'HT-CHG-001' AND deleted = 0")
    assert drawn(window, uuid) and near(window, layer_position(window, "sites", uuid), (lon, lat))
    counts_say(window, n + 1)
    assert window.identify_panel.feature.uuid == uuid
    assert "HT-CHG-001" in window.identify_panel.view.toPlainText()

    walk.press(window, "Ctrl+Z")
    assert not drawn(window, uuid) and live_sites(window) == n
    counts_say(window, n)
    assert window.identify_panel.feature is None
    walk.press(window, "Ctrl+Y")
    assert drawn(window, uuid) and live_sites(window) == n + 1
    counts_say(window, n + 1)
    assert window.identify_panel.feature.uuid == uuid


def test_a_dragged_site_moves_on_the_map_and_back_with_ctrl_z(user):
    window, editor = user, user.editor
    uuid, code, lon, lat = first(window.db, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                            "ORDER BY id LIMIT 1 OFFSET 3")
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    walk.press(window, "M")
    walk.click_map(window, lon, lat)
    assert len(editor.sketch.handles) == 1
    to = (lon - 0.0011, lat + 0.0008)
    walk.drag_map(window, (lon, lat), to)

    moved = editing.read_values(window.db, "sites", uuid)
    assert near(window, (moved["lon"], moved["lat"]), to, pixels=1.5)
    assert drawn(window, uuid) and near(window, layer_position(window, "sites", uuid), to, pixels=1.5)
    assert window.identify_panel.feature.uuid == uuid

    walk.press(window, "Ctrl+Z")
    assert layer_position(window, "sites", uuid) == pytest.approx((lon, lat), abs=1e-9)
    assert drawn(window, uuid)
    walk.press(window, "Ctrl+Y")
    assert layer_position(window, "sites", uuid) == pytest.approx((moved["lon"], moved["lat"]), abs=1e-9)
    assert len(window.canvas.layers["sites"].scatter) == len(window.canvas.layers["sites"].data)


def test_an_excel_import_is_undone_with_ctrl_z(user, qtbot, monkeypatch, tmp_path):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    window = user
    book = tmp_path / "so.xlsx"
    export_workbook(window.db, book)  # the workbook the department sends back (made here, not walked)
    wb = openpyxl.load_workbook(book)
    ws = wb["Trạm BTS"]
    headers = {c.value: c.column for c in ws[1]}
    edited = ws.cell(row=2, column=headers["UUID (không sửa)"]).value
    old_name = ws.cell(row=2, column=headers["Tên trạm"]).value
    lat = float(ws.cell(row=2, column=headers["Vĩ độ"]).value)
    lon = float(ws.cell(row=2, column=headers["Kinh độ"]).value)
    commune = ws.cell(row=2, column=headers["Xã/phường"]).value
    ws.cell(row=2, column=headers["Tên trạm"], value="Tên mới từ Sở")
    new_row = ws.max_row + 1
    for header, value in {"Mã trạm": "VT_SO_CHG", "Doanh nghiệp": "Viettel", "Xã/phường": commune,
                          "Vĩ độ": lat + 0.005, "Kinh độ": lon - 0.003, "Loại cột anten": "Cột dây co",
                          "Trạng thái": "Đang hoạt động"}.items():
        ws.cell(row=new_row, column=headers[header], value=value)
    wb.save(book)
    n = live_sites(window)

    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(str(book))
    walk.activate(window)
    open_menu_item(window, "Tệp", "Nhập sổ Excel…")
    dialog = shown(ExcelImportDialog)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled() or dialog.problems_table.isVisible(), timeout=WAIT_MS)
    assert dialog.problems_table.isHidden(), [p.message for p in dialog.problems]
    walk.click(walk.button(dialog, "Nhập vào cơ sở dữ liệu"))
    qtbot.waitUntil(lambda: window.editor.stack.count() == 1, timeout=WAIT_MS)
    walk.click(walk.button(dialog, "Đóng"))

    (new,) = first(window.db, "SELECT uuid FROM sites WHERE site_code = 'VT_SO_CHG' AND deleted = 0")
    assert drawn(window, new) and live_sites(window) == n + 1
    counts_say(window, n + 1)
    assert "Nhập sổ Excel so.xlsx" in window.editor.act_undo.text()

    walk.activate(window)
    # An import's undo asks first (it reverts every record the import wrote).
    waiting = walk.when_modal(lambda box: walk.click(box.button(QMessageBox.StandardButton.Yes)))
    walk.press(window, "Ctrl+Z")
    waiting.done()
    assert not drawn(window, new) and live_sites(window) == n
    counts_say(window, n)
    assert editing.read_values(window.db, "sites", edited)["name"] == old_name
    walk.press(window, "Ctrl+Y")
    assert drawn(window, new) and editing.read_values(window.db, "sites", edited)["name"] == "Tên mới từ Sở"
    counts_say(window, n + 1)
