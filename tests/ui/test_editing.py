"""Editing in the window: generated forms filled and saved, errors next to fields, map tools,
undo/redo, the duplicate guard and the history dock, all against a real sample database."""

import pytest
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog
from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.core.map_data import Extent
from hatang_desktop.ui.editing.duplicates import BACK, SAVE, DuplicateDialog
from hatang_desktop.ui.editing.form_dialog import FormDialog

BOOKKEEPING = {"version", "updated_at", "updated_by", "source"}
TABLES = ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings")


@pytest.fixture
def editor(window):
    ed = window.editor
    ed.errors = []
    ed.report_error = ed.errors.append  # no modal message box in a test
    assert not window.db.readonly
    return ed


def type_text(widget, text):
    """Type like a user, one key event per character (qtbot.keyClicks aborts on Vietnamese)."""
    widget.setFocus()
    for ch in text:
        QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, ch))


def choose(field_widget, code):
    combo = field_widget.combo
    i = combo.findData(code)
    assert i >= 0, code
    combo.setCurrentIndex(i)


def snapshot(db):
    out = {}
    with db.session() as s:
        for t in TABLES:
            rows = s.execute(text(f"SELECT * FROM {t}")).mappings().all()
            out[t] = {r["uuid"]: {k: v for k, v in r.items() if k not in BOOKKEEPING} for r in rows}
    return out


def live(snap):
    return {t: {u: r for u, r in rows.items() if not r["deleted"]} for t, rows in snap.items()}


def xy(lat, lon):
    x, y = lonlat_to_mercator(lon, lat)
    return float(x), float(y)


def first(db, sql):
    with db.session() as s:
        return s.execute(text(sql)).first()


def while_open(callback):
    """Run `callback` once the modal dialog that is about to open is showing."""
    QTimer.singleShot(0, callback)


def fill_tenant(grid, operator, techs):
    """Tick an operator's technologies in the site form's operators grid."""
    for t in techs:
        grid.row_of(operator).boxes[t].click()


def test_add_site_by_clicking_the_map_fills_saves_and_reads_back(window, editor):
    before = snapshot(window.db)
    editor.set_mode("add_sites")
    x, y = xy(18.3385, 105.8921)
    saved = {}

    def fill():
        d = editor.last_dialog
        f = d.form_widget.fields
        assert f["position"].lat.text().startswith("18,3385") and f["commune_code"].value() is not None
        type_text(f["site_code"].edit, "HT-UI-001")
        choose(f["operator_code"], "VNPT")
        type_text(f["name"].edit, "Trạm Đại học Hà Tĩnh")
        type_text(f["address"].edit, "Số 447 đường Hà Huy Tập")
        choose(f["tower_type"], "rooftop_pole")
        assert d.form_widget.is_shown("building_height_m") and not d.form_widget.is_shown("permit_no")
        choose(f["tower_type"], "ground_tower")  # conditions follow live
        assert d.form_widget.is_shown("permit_no") and not d.form_widget.is_shown("building_height_m")
        type_text(f["permit_no"].edit, "GPXD-15/2024")
        type_text(f["height_m"].edit, "36,5")
        fill_tenant(d.sub_list, "VNPT", ("4G", "5G"))
        fill_tenant(d.sub_list, "VTL", ("2G",))
        saved["accepted"] = d.save()

    while_open(fill)
    assert editor.map_clicked(x, y, 10.0)  # the click went to the tool, not to identify
    assert saved["accepted"] and editor.errors == []
    row = first(window.db, "SELECT uuid, site_code, operator_code, name, address, tower_type, permit_no, height_m "
                           "FROM sites WHERE site_code = 'HT-UI-001'")
    assert tuple(row[1:]) == ("HT-UI-001", "VNPT", "Trạm Đại học Hà Tĩnh", "Số 447 đường Hà Huy Tập",
                              "ground_tower", "GPXD-15/2024", 36.5)
    tenants = editing.read_children(window.db, "sites", row[0])
    assert [(t["operator_code"], t["technologies"]) for t in tenants] == [("VNPT", ("4G", "5G")), ("VTL", ("2G",))]
    # The map shows it, the identify panel too, and Undo names it.
    assert row[0] in set(window.canvas.layers["sites"].data.uuid)
    assert window.identify_panel.feature.uuid == row[0]
    assert editor.stack.undoText() == "Thêm trạm BTS HT-UI-001"
    editor.stack.undo()
    assert live(snapshot(window.db)) == live(before)
    assert row[0] not in set(window.canvas.layers["sites"].data.uuid)
    editor.stack.redo()
    assert editing.read_values(window.db, "sites", row[0])["deleted"] is False


def test_invalid_values_show_next_to_the_field_and_save_nothing(window, editor):
    before = snapshot(window.db)
    d = editor.make_form("sites", values=editor.new_values("sites", 18.34, 105.90))
    f = d.form_widget.fields
    choose(f["operator_code"], "MBF")
    type_text(f["height_m"].edit, "350")
    type_text(f["site_code"].edit, "MB 01 ☎")
    assert d.save() is False
    errors = d.form_widget.errors
    assert errors["height_m"].isVisibleTo(d) and "ngoài khoảng" in errors["height_m"].text()
    assert "định dạng" in errors["site_code"].text()
    assert not errors["name"].isVisibleTo(d)
    assert d.banner.isVisibleTo(d) and "2 lỗi" in d.banner.text()
    assert snapshot(window.db) == before and editor.stack.count() == 0
    # Fixing the values clears the errors and saves.
    f["height_m"].edit.setText("35")
    f["site_code"].edit.setText("MB-01")
    assert d.save() is True
    assert first(window.db, "SELECT height_m FROM sites WHERE site_code = 'MB-01'")[0] == 35


def test_required_field_left_blank_is_named(window, editor):
    d = editor.make_form("poles", values=editor.new_values("poles", 18.34, 105.90))
    assert d.save() is False
    assert "bắt buộc" in d.form_widget.errors["code"].text()
    assert "bắt buộc" in d.form_widget.errors["owner_kind"].text()


def test_sub_list_row_errors_stop_the_row(window, editor):
    d = editor.make_form("poles", values=editor.new_values("poles", 18.34, 105.90))
    outcome = {}

    def fill():
        row = d.sub_list.findChildren(QDialog)[-1]
        choose(row.form_widget.fields["operator_code"], "VTL")
        row.form_widget.fields["cable_count"].edit.setText("500")
        row.ok_button.click()  # refused: the row dialog stays open with the error under the field
        outcome["error"] = row.form_widget.errors["cable_count"].text()
        row.reject()
    while_open(fill)
    assert not d.sub_list.add_row()
    assert "ngoài khoảng" in outcome["error"] and d.sub_list.rows() == []


def test_edit_pole_with_attachments_and_undo(window, editor):
    uuid = first(window.db, "SELECT pole_uuid FROM pole_attachments WHERE deleted = 0 ORDER BY id LIMIT 1")[0]
    before = snapshot(window.db)
    d = editor.make_form("poles", uuid)
    assert d.sub_list.rows() and all(r.get("uuid") for r in d.sub_list.rows())
    f = d.form_widget.fields
    f["road"].edit.clear()
    type_text(f["road"].edit, "Đường Nguyễn Du")
    f["height_m"].edit.setText("9,5")
    n = len(d.sub_list.rows())

    def fill():
        row = d.sub_list.findChildren(QDialog)[-1]
        choose(row.form_widget.fields["operator_code"], "GTEL")
        row.form_widget.fields["cable_count"].edit.setText("2")
        choose(row.form_widget.fields["situation"], "crossing_road")
        assert row.form_widget.is_shown("has_height_sign")  # only for crossings
        row.form_widget.fields["lowest_height_m"].edit.setText("4,2")
        row.ok_button.click()
    while_open(fill)
    assert d.sub_list.add_row()
    d.sub_list.remove_row(0)
    assert d.save() is True
    values = editing.read_values(window.db, "poles", uuid)
    assert (values["road"], values["height_m"]) == ("Đường Nguyễn Du", 9.5)
    atts = editing.read_children(window.db, "poles", uuid)
    assert len(atts) == n and atts[-1]["operator_code"] == "GTEL" and atts[-1]["lowest_height_m"] == 4.2
    editor.stack.undo()
    assert snapshot(window.db)["poles"] == before["poles"]
    assert live(snapshot(window.db)) == live(before)


def test_draw_route_then_form(window, editor):
    editor.set_mode("draw_route")
    points = [(18.340, 105.900), (18.343, 105.905), (18.341, 105.911)]
    for lat, lon in points:
        assert editor.map_clicked(*xy(lat, lon), 10.0)
    assert "3 đỉnh" in window.message_label.text()
    done = {}

    def fill():
        d = editor.last_dialog
        f = d.form_widget.fields
        assert "3 đỉnh" in f["geom"].label.text()
        type_text(f["code"].edit, "TC-ĐH-01")
        choose(f["operator_code"], "VTL")
        choose(f["method"], "aerial")
        f["core_count"].edit.setText("48")
        done["ok"] = d.save()
    while_open(fill)
    editor.finish_route()
    assert done["ok"] and editor.route_points == []
    uuid, code, cores = first(window.db, "SELECT uuid, code, core_count FROM fibre_routes WHERE code = 'TC-ĐH-01'")
    assert cores == 48
    got = editing.route_vertices(window.db, uuid)
    assert [(round(lat, 6), round(lon, 6)) for lon, lat in got] == points


def test_finding_on_a_site_and_zone_attributes(window, editor):
    site, lat, lon = first(window.db, "SELECT uuid, lat, lon FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    editor.set_mode("add_findings")
    done = {}

    def fill():
        d = editor.last_dialog
        f = d.form_widget.fields
        assert f["target_table"].value() == "sites" and f["target_uuid"].value() == site
        choose(f["severity"], "violation")
        type_text(f["note"].edit, "Trạm chưa dùng chung hạ tầng")
        done["ok"] = d.save()
    while_open(fill)
    editor.map_clicked(*xy(lat, lon), 20.0)
    assert done["ok"]
    row = first(window.db, "SELECT target_table, target_uuid, severity, status, note FROM findings "
                           "ORDER BY id DESC LIMIT 1")
    assert tuple(row) == ("sites", site, "violation", "open", "Trạm chưa dùng chung hạ tầng")
    zone = first(window.db, "SELECT uuid FROM zones WHERE deleted = 0 LIMIT 1")[0]
    d = editor.make_form("zones", zone)
    d.form_widget.fields["name"].edit.clear()
    type_text(d.form_widget.fields["name"].edit, "Khu kinh tế Vũng Áng")
    assert d.save() is True
    assert editing.read_values(window.db, "zones", zone)["name"] == "Khu kinh tế Vũng Áng"


def test_move_a_point_by_dragging_its_handle_and_undo(window, editor):
    uuid, lat, lon = first(window.db, "SELECT uuid, lat, lon FROM poles WHERE deleted = 0 ORDER BY id LIMIT 1")
    editor.set_mode("move")
    x, y = xy(lat, lon)
    editor.map_clicked(x, y, 5.0)
    table, uuid = editor.target  # the pole, or a site or finding standing on it
    lat, lon = (editing.read_values(window.db, table, uuid)[k] for k in ("lat", "lon"))
    (handle,) = editor.sketch.handles
    handle.setPos(x + 40, y)  # what a drag does, then the drop:
    handle.sigPositionChangeFinished.emit(handle)
    moved = editing.read_values(window.db, table, uuid)
    assert moved["lon"] > lon and moved["lat"] == pytest.approx(lat, abs=1e-9)
    assert editor.sketch.handles[0].pos().x() == pytest.approx(x + 40)  # the handle follows the record
    editor.stack.undo()
    back = editing.read_values(window.db, table, uuid)
    assert (back["lat"], back["lon"]) == (lat, lon)


def test_vertex_edit_insert_move_delete_and_undo(window, editor):
    uuid = first(window.db, "SELECT uuid FROM fibre_routes WHERE deleted = 0 ORDER BY id LIMIT 1")[0]
    original = editing.route_vertices(window.db, uuid)
    pts = [xy(lat, lon) for lon, lat in original]
    # Zoomed to the route: far out, handles closer than a finger's width are thinned out.
    window.canvas.zoom_to(Extent(min(p[0] for p in pts), min(p[1] for p in pts),
                                 max(p[0] for p in pts), max(p[1] for p in pts)))
    editor.set_mode("vertices")
    (x0, y0), (x1, y1) = pts[0], pts[1]
    editor.map_clicked((x0 + x1) / 2, (y0 + y1) / 2, 1.0)  # on the route's first segment
    assert editor.target == ("fibre_routes", uuid)
    n = len(original)
    kinds = [h.kind for h in editor.sketch.handles]
    assert kinds.count("vertex") == n and kinds.count("midpoint") == n - 1
    mid = next(h for h in editor.sketch.handles if h.kind == "midpoint")
    mid.setPos(mid.pos().x() + 30, mid.pos().y() + 30)
    mid.sigPositionChangeFinished.emit(mid)
    assert len(editing.route_vertices(window.db, uuid)) == n + 1
    editor.sketch.handle_right_clicked.emit(1, "vertex")
    assert len(editing.route_vertices(window.db, uuid)) == n
    editor.stack.undo()
    editor.stack.undo()
    assert editing.route_vertices(window.db, uuid) == original
    editor.stack.redo()
    assert len(editing.route_vertices(window.db, uuid)) == n + 1


def test_delete_asks_and_tombstones(window, editor, monkeypatch):
    uuid, lat, lon = first(window.db, "SELECT uuid, lat, lon FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    window.identify_at(*xy(lat, lon), 5.0)
    asked = []
    monkeypatch.setattr(editor, "confirm_delete", lambda table, code: asked.append(code) or False)
    assert editor.delete_selected() is None and asked
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is False
    monkeypatch.setattr(editor, "confirm_delete", lambda table, code: True)
    editor.delete_selected()
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is True
    assert uuid not in set(window.canvas.layers["sites"].data.uuid)
    editor.stack.undo()
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is False


def test_duplicate_guard_asks_before_saving(window, editor, monkeypatch):
    op, lat, lon = first(window.db, "SELECT operator_code, lat, lon FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    answers, shown = [BACK, SAVE], []

    def ask(duplicates, parent):
        shown.append(duplicates)
        return answers.pop(0)
    monkeypatch.setattr(editor, "ask_duplicates", ask)
    d = editor.make_form("sites", values=editor.new_values("sites", lat + 0.00003, lon))  # ~3 m away
    d.form_widget.fields["site_code"].edit.setText("DUP-1")
    choose(d.form_widget.fields["operator_code"], op)
    before = snapshot(window.db)
    assert d.save() is False and snapshot(window.db) == before  # went back: nothing saved
    assert d.save() is True  # "save anyway"
    assert len(shown) == 2 and not shown[0][0].same_code and shown[0][0].distance_m < 10
    assert first(window.db, "SELECT count(*) FROM sites WHERE site_code = 'DUP-1'")[0] == 1


def test_duplicate_dialog_offers_no_save_for_the_same_code(window):
    same = editing.Duplicate("u", "VT-1", "VTL", "Trạm Cầu Phủ", 18.3, 105.9, 0.0, True)
    near = editing.Duplicate("v", "VT-2", "VTL", "Trạm Chợ Hà Tĩnh", 18.3, 105.9, 6.4, False)
    blocking = DuplicateDialog([same], window)
    assert blocking.save_button.parent() is None or not blocking.save_button.isVisibleTo(blocking)
    asking = DuplicateDialog([near], window)
    asking.show()
    assert asking.save_button.isVisible()
    assert "6,4 m" in asking.table.item(0, 2).text() or "6.4 m" in asking.table.item(0, 2).text()


def test_history_dock_lists_changes(window, editor):
    uuid, lat, lon = first(window.db, "SELECT uuid, lat, lon FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    window.identify_at(*xy(lat, lon), 5.0)
    d = editor.make_form("sites", uuid)
    d.form_widget.fields["note"].edit.setText("Đã kiểm tra")
    assert d.save()
    editor.act_history.trigger()
    dock = editor.history_dock
    assert dock.isVisible() and dock.uuid == uuid
    top = dock.tree.topLevelItem(0)
    texts = [top.child(i).text(0) for i in range(top.childCount())]
    assert texts[0] == "Sửa trạm BTS " + editing.read_values(window.db, "sites", uuid)["site_code"]
    note = next(top.child(i) for i in range(top.childCount()) if top.child(i).text(0) == "Ghi chú")
    assert note.text(2) == "Đã kiểm tra"


def test_edit_menu_and_shortcuts(window, editor):
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles.index("C&hỉnh sửa") == 1
    assert editor.act_undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert QKeySequence("Ctrl+Y") in editor.act_redo.shortcuts()
    assert editor.tool_actions["add_sites"].shortcut() == QKeySequence("Ctrl+1")
    # Picking a map tool (measure) ends an edit tool.
    editor.set_mode("add_poles")
    window.canvas.set_tool("measure_line")
    assert editor.mode is None and not editor.tool_actions["add_poles"].isChecked()


def test_form_dialog_is_generated_from_any_definition(window, editor):
    for table in editing.EDITABLE:
        d = editor.make_form(table, values={})
        assert isinstance(d, FormDialog)
        form = editor.forms[table]
        shown = [f.key for f in form.fields if f.type != "reference"]
        assert set(shown) <= set(d.form_widget.fields)
        assert (d.sub_list is not None) == (table in editing.CHILDREN)


def test_gps_position_and_pending_photos_go_with_the_new_record(window, editor, tmp_path):
    from pathlib import Path

    from PIL import Image

    from hatang_desktop.core import gps, photos

    walk = Path(__file__).parent.parent / "data" / "walk_ha_tinh.nmea"
    fix = list(gps.read_log(walk, parser=gps.NmeaParser("nmea-log:walk_ha_tinh.nmea")))[-1]
    window.gps_panel.feed(fix)
    d = editor.make_form("poles", values=editor.new_values("poles", 18.30, 105.80))
    f = d.form_widget.fields
    assert f["position"].gps_button.isEnabled()
    f["position"].gps_button.click()
    assert float(f["position"].lat.text().replace(",", ".")) == pytest.approx(fix.lat, abs=1e-7)
    f["code"].edit.setText("C-GPS-1")
    choose(f["owner_kind"], "lighting")
    picture = tmp_path / "cot.jpg"
    Image.new("RGB", (64, 48), "#357").save(picture)
    assert d.photos.add_files([picture]) == []
    assert d.save() is True
    uuid, lat, acc, source = first(window.db, "SELECT uuid, lat, gnss_accuracy_m, gnss_source FROM poles "
                                             "WHERE code = 'C-GPS-1'")
    meta = fix.metadata()
    assert lat == pytest.approx(fix.lat) and (acc, source) == (meta["gnss_accuracy_m"], meta["gnss_source"])
    assert [p.original_name for p in photos.list_photos(window.db, "poles", uuid)] == ["cot.jpg"]
