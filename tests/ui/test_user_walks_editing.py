"""Editing walked as a user walks it: shortcuts pressed in the window, clicks and drags on the map
at positions computed from map coordinates, fields typed into, items picked from the lists, the
form's buttons pressed, Ctrl+Z / Ctrl+Y / Ctrl+Shift+Z for undo and redo, Ctrl+H for the history.

No step calls what sits behind a button (set_mode, map_clicked, save, add_row...): a tool whose
shortcut crashes or does nothing fails here. (Until commit a9e77ae every add and geometry tool
raised in its slot under PySide6 6.11.3, and the tests that called set_mode did not see it.)
Each walk then checks what was stored, what the map draws, what Undo says, and the state after
undo and redo. An exception in a slot fails the test (pytest-qt's capture is left on).
"""

from __future__ import annotations

import math

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.core.geo.projection import lonlat_to_mercator, mercator_to_lonlat
from hatang_desktop.ui.map.overlays import format_distance
from hatang_desktop.ui.strings import tr

from . import walk

# pyqtgraph reports an error in its own mouse handlers as a RuntimeWarning and carries on (a drag
# silently lost): in a walk, that is a failure.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

BOOKKEEPING = {"version", "updated_at", "updated_by", "source"}
TABLES = ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings")


# -- reading the database back (checks only: nothing is changed through these) -------------------


def rows(db, sql, **params):
    with db.session() as s:
        return s.execute(text(sql), params).all()


def first(db, sql, **params):
    found = rows(db, sql, **params)
    return found[0] if found else None


def snapshot(db):
    out = {}
    with db.session() as s:
        for t in TABLES:
            got = s.execute(text(f"SELECT * FROM {t}")).mappings().all()
            out[t] = {r["uuid"]: {k: v for k, v in r.items() if k not in BOOKKEEPING} for r in got}
    return out


def live(snap):
    return {t: {u: r for u, r in got.items() if not r["deleted"]} for t, got in snap.items()}


def xy(lon, lat):
    x, y = lonlat_to_mercator(lon, lat)
    return float(x), float(y)


def lonlat(x, y):
    lon, lat = mercator_to_lonlat(x, y)
    return float(lon), float(lat)


def near(window, stored_lonlat, wanted_lonlat, pixels=1.0):
    """Two places within `pixels` of the map's current pixel size (map metres) of each other."""
    (x0, y0), (x1, y1) = xy(*stored_lonlat), xy(*wanted_lonlat)
    return math.hypot(x1 - x0, y1 - y0) <= pixels * walk.metres_per_pixel(window)


def drawn(window, layer, uuid):
    """Whether the map's layer holds the feature."""
    return window.canvas.layers[layer].index_of(uuid) is not None


def same_line(a, b):
    """Vertex lists equal to the 7 decimals a reshaped route is stored with (~1 cm)."""
    return len(a) == len(b) and all(p == pytest.approx(q, abs=1.5e-7) for p, q in zip(a, b))


def layer_position(window, layer, uuid):
    lay = window.canvas.layers[layer]
    i = lay.index_of(uuid)
    return lonlat(lay.data.x[i], lay.data.y[i])


def history_lines(window):
    """What the history dock shows: each group's first line (its description) and its rows."""
    tree = window.editor.history_dock.tree
    out = []
    for i in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(i)
        out.append([group.child(k).text(0) for k in range(group.childCount())])
    return out


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def user(window):
    """The sample window, active, nothing edited yet. Error boxes stay real: a walk that runs into
    one hangs no test (WhenModal closes what it did not expect) and fails on the assertions."""
    walk.activate(window)
    assert not window.db.readonly and window.editor.stack.count() == 0
    return window


def tool_on(window, tool):
    """What the user sees when a tool is on: its button pressed and its hint under the map."""
    editor = window.editor
    assert editor.tool_actions[tool].isChecked(), f"the {tool} button is not pressed"
    assert all(not a.isChecked() for t, a in editor.tool_actions.items() if t != tool)
    assert window.message_label.text() == tr("edit_hint_" + tool, n=0, length=format_distance(0.0))


def tool_off(window):
    assert not any(a.isChecked() for a in window.editor.tool_actions.values())
    assert window.message_label.text() == ""


def undo_says(window, description):
    act = window.editor.act_undo
    assert act.isEnabled() and description in act.text(), act.text()


def redo_says(window, description):
    act = window.editor.act_redo
    assert act.isEnabled() and description in act.text(), act.text()


def open_history(window):
    """Ctrl+H shows the history dock for the record the identify panel shows."""
    walk.press(window, "Ctrl+H")
    walk.settle()
    dock = window.editor.history_dock
    assert dock.isVisible()
    return history_lines(window)


# -- form steps ------------------------------------------------------------------------------------


def sub_row(form_dialog, fill):
    """Press the form's "Thêm dòng" and fill the row dialog that opens with `fill(dialog)`, which
    ends by pressing its OK button."""
    waiting = walk.when_modal(fill)
    walk.click(walk.button(form_dialog, tr("form_sub_add")))
    waiting.done()


def press_ok(dialog):
    walk.click(walk.button(dialog, tr("form_ok")))
    assert not dialog.isVisible(), [e.text() for e in dialog.form_widget.errors.values() if e.text()]


def press_save(dialog):
    walk.click(walk.button(dialog, tr("form_save")))
    assert not dialog.isVisible(), (dialog.banner.text(),
                                    [e.text() for e in dialog.form_widget.errors.values() if e.text()])


# -- 1. a site with two operators --------------------------------------------------------------


def test_add_site_with_two_tenants_by_keyboard_and_mouse(user):
    window = user
    code, lon0, lat0 = first(window.db, "SELECT site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    walk.search_and_go(window, code)  # somewhere to work: the map zooms to a known site
    before = snapshot(window.db)
    lon, lat = lon0 + 0.002, lat0 + 0.0015  # ~200 m away from it, in open ground

    walk.press(window, "Ctrl+1")
    tool_on(window, "add_sites")

    def tenant(grid, operator, techs, tenant_code):
        """The operator's row of the site form: its technologies ticked, its own site code typed."""
        row = grid.row_of(operator)
        for t in techs:
            walk.check(row.boxes[t])
        walk.type_into(row.edits["tenant_site_code"], tenant_code)

    def fill_site(d):
        assert d.windowTitle() == "Thêm trạm BTS"
        f = d.form_widget.fields
        # The click's place is in the form already, and its commune.
        got = (float(f["position"].lon.text().replace(",", ".")),
               float(f["position"].lat.text().replace(",", ".")))
        assert near(window, got, (lon, lat)), got
        assert f["commune_code"].value() is not None
        walk.type_into(f["site_code"].edit, "HT-UI-001")
        walk.choose(f["operator_code"].combo, "VNPT")
        walk.type_into(f["name"].edit, "Trạm Đại học Hà Tĩnh")
        walk.type_into(f["address"].edit, "Số 447 đường Hà Huy Tập")
        walk.choose(f["tower_type"].combo, "ground_tower")
        assert d.form_widget.is_shown("permit_no") and not d.form_widget.is_shown("building_height_m")
        walk.type_into(f["permit_no"].edit, "GPXD-15/2024")
        walk.type_into(f["height_m"].edit, "36,5")
        grid = d.sub_list
        assert grid.owner == "VNPT"  # the site's operator, first in the grid
        tenant(grid, "VNPT", ("4G", "5G"), "HTH001")
        tenant(grid, "VTL", ("2G", "4G"), "VT-ĐH-1")
        press_save(d)

    waiting = walk.when_modal(fill_site)
    walk.click_map(window, lon, lat)
    waiting.done()

    uuid, *stored = first(window.db, "SELECT uuid, operator_code, name, address, tower_type, permit_no, height_m, "
                                     "lon, lat FROM sites WHERE site_code = 'HT-UI-001' AND deleted = 0")
    assert stored[:6] == ["VNPT", "Trạm Đại học Hà Tĩnh", "Số 447 đường Hà Huy Tập", "ground_tower",
                          "GPXD-15/2024", 36.5]
    assert near(window, tuple(stored[6:]), (lon, lat))
    tenants = editing.read_children(window.db, "sites", uuid)
    assert [(t["operator_code"], t["technologies"], t["tenant_site_code"]) for t in tenants] == [
        ("VNPT", ("4G", "5G"), "HTH001"), ("VTL", ("2G", "4G"), "VT-ĐH-1")]
    assert drawn(window, "sites", uuid) and window.identify_panel.feature.uuid == uuid
    undo_says(window, "Thêm trạm BTS HT-UI-001")
    assert "HT-UI-001" in window.statusBar().currentMessage()

    walk.press(window, "Ctrl+Z")
    assert live(snapshot(window.db)) == live(before)
    assert not drawn(window, "sites", uuid)
    redo_says(window, "Thêm trạm BTS HT-UI-001")
    walk.press(window, "Ctrl+Y")
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is False
    assert len(editing.read_children(window.db, "sites", uuid)) == 2 and drawn(window, "sites", uuid)
    walk.press(window, "Ctrl+Z")
    walk.press(window, "Ctrl+Shift+Z")  # the other redo key
    assert drawn(window, "sites", uuid) and window.identify_panel.feature.uuid == uuid

    history = open_history(window)
    assert "HT-UI-001" in window.editor.history_dock.heading.text()
    # Newest first: each undo and redo is a change of its own, under the add.
    assert [group[0] for group in history] == [
        "Làm lại: Thêm trạm BTS HT-UI-001", "Hoàn tác: Thêm trạm BTS HT-UI-001",
        "Làm lại: Thêm trạm BTS HT-UI-001", "Hoàn tác: Thêm trạm BTS HT-UI-001",
        "Thêm trạm BTS HT-UI-001"]
    assert sorted(history[-1][1:]) == ["Doanh nghiệp trên trạm: Tạo mới"] * 2 + ["Tạo mới"]


# -- 2. a pole with two attachments ------------------------------------------------------------


def test_add_pole_with_two_attachments(user):
    window = user
    code, lon0, lat0 = first(window.db, "SELECT site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1 "
                                        "OFFSET 5")
    walk.search_and_go(window, code)
    before = snapshot(window.db)
    lon, lat = lon0 - 0.0018, lat0 + 0.001

    walk.press(window, "Ctrl+2")
    tool_on(window, "add_poles")

    def attachment(operator, count, situation, lowest, sign):
        def fill(row):
            f = row.form_widget.fields
            walk.choose(f["operator_code"].combo, operator)
            walk.clear_text(f["cable_count"].edit)
            walk.type_into(f["cable_count"].edit, count)
            walk.choose(f["situation"].combo, situation)
            assert row.form_widget.is_shown("has_height_sign") == (sign is not None)
            if sign is not None:
                walk.choose(f["has_height_sign"].combo, sign)
            walk.type_into(f["lowest_height_m"].edit, lowest)
            press_ok(row)
        return fill

    def fill_pole(d):
        assert d.windowTitle() == "Thêm cột treo cáp"
        f = d.form_widget.fields
        walk.type_into(f["code"].edit, "C-UI-01")
        walk.choose(f["owner_kind"].combo, "operator")
        assert d.form_widget.is_shown("owner_operator_code")
        walk.choose(f["owner_operator_code"].combo, "VNPT")
        walk.type_into(f["height_m"].edit, "8,5")
        walk.type_into(f["road"].edit, "Đường Phan Đình Phùng")
        sub_row(d, attachment("VTL", "2", "crossing_road", "5,5", True))
        sub_row(d, attachment("MBF", "1", "along_road", "4", None))
        assert d.sub_list.table.rowCount() == 2
        press_save(d)

    waiting = walk.when_modal(fill_pole)
    walk.click_map(window, lon, lat)
    waiting.done()

    uuid, owner_kind, owner_op, height, road, plon, plat = first(
        window.db, "SELECT uuid, owner_kind, owner_operator_code, height_m, road, lon, lat FROM poles "
                   "WHERE code = 'C-UI-01' AND deleted = 0")
    assert (owner_kind, owner_op, height, road) == ("operator", "VNPT", 8.5, "Đường Phan Đình Phùng")
    assert near(window, (plon, plat), (lon, lat))
    atts = editing.read_children(window.db, "poles", uuid)
    assert [(a["operator_code"], a["cable_count"], a["situation"], a["lowest_height_m"], a["has_height_sign"])
            for a in atts] == [("VTL", 2, "crossing_road", 5.5, True), ("MBF", 1, "along_road", 4.0, None)]
    assert drawn(window, "poles", uuid)
    undo_says(window, "Thêm cột C-UI-01")
    window.canvas.setFocus()
    walk.press(window.canvas, "+")  # closer in, the new pole's number is written beside it
    window.canvas.grab()
    assert "C-UI-01" in [p.text for p in window.canvas.feature_labels.placed]

    walk.press(window, "Ctrl+Z")
    assert live(snapshot(window.db)) == live(before) and not drawn(window, "poles", uuid)
    walk.press(window, "Ctrl+Shift+Z")
    assert len(editing.read_children(window.db, "poles", uuid)) == 2 and drawn(window, "poles", uuid)
    undo_says(window, "Thêm cột C-UI-01")
    history = open_history(window)
    assert [group[0] for group in history] == ["Làm lại: Thêm cột C-UI-01", "Hoàn tác: Thêm cột C-UI-01",
                                               "Thêm cột C-UI-01"]
    assert sorted(history[-1][1:]) == ["Cáp treo trên cột: Tạo mới"] * 2 + ["Tạo mới"]


# -- 3. a route of four vertices ---------------------------------------------------------------


def test_draw_a_four_vertex_route_and_finish_with_enter(user):
    window, editor = user, user.editor
    code, lon0, lat0 = first(window.db, "SELECT site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1 "
                                        "OFFSET 10")
    walk.search_and_go(window, code)
    before = snapshot(window.db)
    clicks = [(lon0 - 0.003, lat0 - 0.002), (lon0 - 0.001, lat0 + 0.0015), (lon0 + 0.001, lat0 - 0.001),
              (lon0 + 0.003, lat0 + 0.002)]

    walk.press(window, "Ctrl+3")
    tool_on(window, "draw_route")
    for k, (lon, lat) in enumerate(clicks, 1):
        walk.click_map(window, lon, lat)
        assert f"{k} đỉnh" in window.message_label.text()
    walk.click_map(window, lon0, lat0 + 0.003)  # one too many, taken back with Backspace
    assert "5 đỉnh" in window.message_label.text()
    walk.press(window, "Backspace")
    assert "4 đỉnh" in window.message_label.text()
    pixel_m = walk.metres_per_pixel(window)

    def fill_route(d):
        assert d.windowTitle() == "Thêm tuyến cáp quang"
        f = d.form_widget.fields
        assert "4 đỉnh" in f["geom"].label.text()
        walk.type_into(f["code"].edit, "TC-ĐH-01")
        walk.choose(f["operator_code"].combo, "VTL")
        walk.choose(f["method"].combo, "aerial")
        walk.type_into(f["core_count"].edit, "48")
        walk.type_into(f["note"].edit, "Tuyến treo dọc đường Xô Viết Nghệ Tĩnh")
        press_save(d)

    waiting = walk.when_modal(fill_route)
    walk.press(window, "Return")  # Enter finishes the line and opens its form
    waiting.done()

    uuid, operator, method, cores = first(window.db, "SELECT uuid, operator_code, method, core_count "
                                                     "FROM fibre_routes WHERE code = 'TC-ĐH-01' AND deleted = 0")
    assert (operator, method, cores) == ("VTL", "aerial", 48)
    got = editing.route_vertices(window.db, uuid)
    assert len(got) == 4
    for stored, wanted in zip(got, clicks):
        (x0, y0), (x1, y1) = xy(*stored), xy(*wanted)
        assert math.hypot(x1 - x0, y1 - y0) <= pixel_m, (stored, wanted, pixel_m)
    assert drawn(window, "routes", uuid)
    assert "0 đỉnh" in window.message_label.text()  # the tool is ready for the next line
    assert editor.sketch.points == []
    undo_says(window, "Thêm tuyến cáp TC-ĐH-01")

    walk.press(window, "Ctrl+Z")
    assert live(snapshot(window.db)) == live(before) and not drawn(window, "routes", uuid)
    walk.press(window, "Ctrl+Y")
    assert editing.route_vertices(window.db, uuid) == got and drawn(window, "routes", uuid)
    walk.press(window, "Escape")  # Esc leaves the tool
    tool_off(window)



def test_a_double_click_ends_the_route(user):
    """The hint says a double-click ends the line, as Enter does: the last click's place is the
    last vertex, once."""
    window = user
    code, lon0, lat0 = first(window.db, "SELECT site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1 "
                                        "OFFSET 10")
    walk.search_and_go(window, code)
    clicks = [(lon0 - 0.002, lat0), (lon0, lat0 + 0.001), (lon0 + 0.002, lat0)]
    walk.press(window, "Ctrl+3")
    tool_on(window, "draw_route")
    for lon, lat in clicks[:-1]:
        walk.click_map(window, lon, lat)

    def fill_route(d):
        f = d.form_widget.fields
        assert "3 đỉnh" in f["geom"].label.text()
        walk.type_into(f["code"].edit, "TC-NĐ-02")
        walk.choose(f["operator_code"].combo, "VNPT")
        walk.choose(f["method"].combo, "duct")
        press_save(d)

    waiting = walk.when_modal(fill_route)
    walk.click_map(window, *clicks[-1], double=True)
    waiting.done()
    uuid = first(window.db, "SELECT uuid FROM fibre_routes WHERE code = 'TC-NĐ-02' AND deleted = 0")[0]
    got = editing.route_vertices(window.db, uuid)
    assert len(got) == 3 and all(near(window, p, q) for p, q in zip(got, clicks))
    assert "0 đỉnh" in window.message_label.text()  # nothing left over for the next line


def test_a_double_click_ends_a_measurement(user):
    """The measure tool (D) ends a line on a double-click as well (the same map event)."""
    window = user
    code, lon0, lat0 = first(window.db, "SELECT site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    walk.search_and_go(window, code)
    walk.click(window.canvas.viewport())
    walk.press(window, "D")
    assert window.canvas.tool == "measure_line"
    walk.click_map(window, lon0 - 0.002, lat0)
    walk.click_map(window, lon0, lat0 + 0.001)
    walk.click_map(window, lon0 + 0.002, lat0, double=True)
    assert window.canvas.measure_done and len(window.canvas.measure_points) == 3

# -- 4. moving a site ------------------------------------------------------------------------


def test_move_a_site_by_dragging_its_handle(user):
    window, editor = user, user.editor
    uuid, code, lon, lat = first(window.db, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                            "ORDER BY id LIMIT 1")
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)  # a click on the map: it has the keyboard now
    assert window.identify_panel.feature.uuid == uuid
    walk.press(window, "M")
    tool_on(window, "move")
    assert editor.sketch.handles == []
    walk.click_map(window, lon, lat)  # picks the site: one square handle on it
    (handle,) = editor.sketch.handles
    assert near(window, lonlat(handle.pos().x(), handle.pos().y()), (lon, lat))
    to = (lon + 0.0012, lat - 0.0007)
    walk.drag_map(window, (lon, lat), to)

    moved = editing.read_values(window.db, "sites", uuid)
    assert near(window, (moved["lon"], moved["lat"]), to, pixels=1.5)
    assert near(window, layer_position(window, "sites", uuid), to, pixels=1.5)
    assert near(window, lonlat(editor.sketch.handles[0].pos().x(), editor.sketch.handles[0].pos().y()), to, 1.5)
    undo_says(window, f"Di chuyển trạm BTS {code}")

    walk.press(window, "Ctrl+Z")
    back = editing.read_values(window.db, "sites", uuid)
    assert (back["lon"], back["lat"]) == (lon, lat)
    assert near(window, layer_position(window, "sites", uuid), (lon, lat))
    walk.press(window, "Ctrl+Y")
    again = editing.read_values(window.db, "sites", uuid)
    assert (again["lon"], again["lat"]) == (moved["lon"], moved["lat"])
    history = open_history(window)
    assert [group[0] for group in history[:3]] == [f"Làm lại: Di chuyển trạm BTS {code}",
                                                   f"Hoàn tác: Di chuyển trạm BTS {code}",
                                                   f"Di chuyển trạm BTS {code}"]
    assert {"Vĩ độ", "Kinh độ"} <= set(history[2])


# -- 5. inserting and deleting route vertices ----------------------------------------------------


def test_insert_and_delete_route_vertices(user):
    window, editor = user, user.editor
    # A route of four vertices whose every vertex and midpoint gets a handle once zoomed to it.
    routes = rows(window.db, "SELECT uuid, code FROM fibre_routes WHERE deleted = 0 ORDER BY id")
    uuid, code = next((u, c) for u, c in routes if len(editing.route_vertices(window.db, u)) == 4)
    original = editing.route_vertices(window.db, uuid)
    walk.search_and_go(window, code)
    (x0, y0), (x1, y1) = xy(*original[0]), xy(*original[1])
    middle = lonlat((x0 + x1) / 2, (y0 + y1) / 2)  # halfway along the first segment
    walk.click_map(window, *middle)
    assert window.identify_panel.feature.uuid == uuid
    walk.press(window, "V")
    tool_on(window, "vertices")
    walk.click_map(window, *middle)  # picks the route: squares on vertices, circles halfway
    kinds = sorted(h.kind for h in editor.sketch.handles)
    assert kinds == ["midpoint"] * 3 + ["vertex"] * 4

    # Insert: drag the first segment's midpoint handle off the line.
    to = (middle[0] + 0.0006, middle[1] + 0.0009)
    walk.drag_map(window, middle, to)
    inserted = editing.route_vertices(window.db, uuid)
    assert len(inserted) == 5 and same_line(inserted[:1] + inserted[2:], original)
    assert near(window, inserted[1], to, pixels=1.5)
    undo_says(window, f"Thêm đỉnh tuyến cáp {code}")
    assert sorted(h.kind for h in editor.sketch.handles) == ["midpoint"] * 4 + ["vertex"] * 5

    # Move: drag the third vertex a little.
    moved_to = (original[2][0] - 0.001, original[2][1] + 0.001)
    walk.drag_map(window, original[2], moved_to)
    after_move = editing.route_vertices(window.db, uuid)
    assert len(after_move) == 5 and near(window, after_move[3], moved_to, pixels=1.5)

    # Delete: right-click the vertex inserted first.
    walk.click_map(window, *inserted[1], button=walk.RIGHT)
    deleted = editing.route_vertices(window.db, uuid)
    assert same_line(deleted, [original[0], original[1], after_move[3], original[3]])
    undo_says(window, f"Xóa đỉnh tuyến cáp {code}")
    assert drawn(window, "routes", uuid)

    walk.press(window, "Ctrl+Z")  # the deleted vertex comes back
    assert editing.route_vertices(window.db, uuid) == after_move
    walk.press(window, "Ctrl+Z")
    walk.press(window, "Ctrl+Z")
    assert editing.route_vertices(window.db, uuid) == original
    assert sorted(h.kind for h in editor.sketch.handles) == ["midpoint"] * 3 + ["vertex"] * 4
    walk.press(window, "Ctrl+Y")
    assert editing.route_vertices(window.db, uuid) == inserted
    walk.press(window, "Ctrl+Shift+Z")
    walk.press(window, "Ctrl+Y")
    assert editing.route_vertices(window.db, uuid) == deleted
    history = open_history(window)
    steps = [f"{step} tuyến cáp {code}" for step in ("Thêm đỉnh", "Di chuyển đỉnh", "Xóa đỉnh")]
    # Newest first: the three redone, the three undone, the three done.
    assert [group[0] for group in history[:9]] == (
        ["Làm lại: " + s for s in reversed(steps)] + ["Hoàn tác: " + s for s in steps] + list(reversed(steps)))


# -- 6. F2 and Delete on a selected feature --------------------------------------------------------


def test_edit_with_f2_and_delete_with_the_delete_key(user):
    window = user
    uuid, code, lon, lat = first(window.db, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                            "ORDER BY id LIMIT 1 OFFSET 2")
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    assert window.identify_panel.feature.uuid == uuid

    def edit(d):
        f = d.form_widget.fields
        assert f["site_code"].edit.text() == code
        walk.clear_text(f["note"].edit)
        walk.type_into(f["note"].edit, "Đã kiểm tra ngày 5/12")
        press_save(d)

    waiting = walk.when_modal(edit)
    walk.press(window, "F2")
    waiting.done()
    assert editing.read_values(window.db, "sites", uuid)["note"] == "Đã kiểm tra ngày 5/12"
    undo_says(window, f"Sửa trạm BTS {code}")

    def answer(button_role):
        def act(box):
            assert isinstance(box, QMessageBox) and code in box.text()
            walk.click(box.button(button_role))
        return act

    waiting = walk.when_modal(answer(QMessageBox.StandardButton.No))
    walk.press(window, "Delete")
    waiting.done()
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is False
    waiting = walk.when_modal(answer(QMessageBox.StandardButton.Yes))
    walk.press(window, "Delete")
    waiting.done()
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is True and not drawn(window, "sites", uuid)
    undo_says(window, f"Xóa trạm BTS {code}")
    walk.press(window, "Ctrl+Z")
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is False and drawn(window, "sites", uuid)
    walk.press(window, "Ctrl+Z")
    assert editing.read_values(window.db, "sites", uuid)["note"] != "Đã kiểm tra ngày 5/12"
    walk.press(window, "Ctrl+Y")
    walk.press(window, "Ctrl+Y")
    assert editing.read_values(window.db, "sites", uuid)["deleted"] is True
    assert QApplication.activeModalWidget() is None


# -- 7. a finding on a site ------------------------------------------------------------------------


def test_add_a_finding_by_clicking_a_site(user):
    window = user
    uuid, code, lon, lat = first(window.db, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                            "ORDER BY id LIMIT 1 OFFSET 3")
    walk.search_and_go(window, code)
    before = snapshot(window.db)
    walk.press(window, "Ctrl+4")
    tool_on(window, "add_findings")

    def fill(d):
        f = d.form_widget.fields
        assert d.windowTitle() == "Thêm vi phạm"
        assert f["target_table"].value() == "sites" and f["target_uuid"].value() == uuid
        walk.choose(f["severity"].combo, "violation")
        walk.type_into(f["note"].edit, "Trạm chưa dùng chung hạ tầng")
        press_save(d)

    waiting = walk.when_modal(fill)
    walk.click_map(window, lon, lat)
    waiting.done()
    found, target, severity, note, flon, flat = first(
        window.db, "SELECT uuid, target_uuid, severity, note, lon, lat FROM findings ORDER BY id DESC LIMIT 1")
    assert (target, severity, note) == (uuid, "violation", "Trạm chưa dùng chung hạ tầng")
    assert (flon, flat) == pytest.approx((lon, lat), abs=1e-7)  # placed on the site it concerns
    assert drawn(window, "findings", found)
    walk.press(window, "Ctrl+Z")
    assert live(snapshot(window.db)) == live(before)
    walk.press(window, "Ctrl+Y")
    assert editing.read_values(window.db, "findings", found)["deleted"] is False


# -- every tool, by its key and by its toolbar button ----------------------------------------------


def test_every_edit_tool_turns_on_and_off_by_key_and_by_toolbar_button(user):
    window, editor = user, user.editor
    keys = {"add_sites": "Ctrl+1", "add_poles": "Ctrl+2", "draw_route": "Ctrl+3", "add_findings": "Ctrl+4",
            "move": "M", "vertices": "V"}
    assert set(keys) == set(editor.tool_actions)
    walk.click(window.search_box)
    walk.press(window, "M")  # single letters belong to the map: typing in a field switches no tool
    tool_off(window)
    for tool, key in keys.items():
        if len(key) == 1:
            walk.click(window.canvas.viewport())  # the map has the keyboard once clicked
        walk.press(window, key)
        tool_on(window, tool)
        assert window.canvas.hasFocus()  # ready for the map clicks
        walk.press(window, key)  # the same key again puts it away
        tool_off(window)
        toolbar_button = editor.toolbar.widgetForAction(editor.tool_actions[tool])
        walk.click(toolbar_button)
        tool_on(window, tool)
        walk.press(window, "Escape")
        tool_off(window)


def test_lu_pressed_with_nothing_edited_logs_nothing(user):
    """F2 on a site, then Lưu without touching a field: no operation in the history, no undo
    step, the site's version as it was (issue 20: "saving a form with no edit still logs an edit")."""
    window = user
    uuid, code, lon, lat = first(window.db, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                            "ORDER BY id LIMIT 1 OFFSET 3")
    version, ops = first(window.db, f"SELECT (SELECT version FROM sites WHERE uuid = '{uuid}'), "
                                    "(SELECT count(*) FROM operations)")
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    assert window.identify_panel.feature.uuid == uuid
    steps = window.editor.stack.count()
    waiting = walk.when_modal(press_save)
    walk.press(window, "F2")
    waiting.done()
    assert first(window.db, f"SELECT (SELECT version FROM sites WHERE uuid = '{uuid}'), "
                            "(SELECT count(*) FROM operations)") == (version, ops)
    assert window.editor.stack.count() == steps
