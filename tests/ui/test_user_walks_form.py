"""The record form filled in one pass, walked as a user walks it (issue 20): F2 on a site, its
operators' technologies ticked on the form itself, photos added and removed with the form's Lưu
(one operation, one undo step) or forgotten with Hủy, a message under a field gone as soon as the
field is right, "Đã lưu" in the status bar, no sideways scrolling, and a route's line shown as
length, vertices, start and end, never as WKT.

Every step is a key press, a click, typing or a choice in a file dialog; an exception in a slot
fails the walk (pytest-qt's capture is left on).
"""

from __future__ import annotations

import pytest
import shapely
from PIL import Image
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QScrollArea
from sqlalchemy import text

from hatang_desktop.core import editing, photos
from hatang_desktop.core.operators import OPERATORS, UNKNOWN
from hatang_desktop.ui.strings import tr

from . import walk

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def first(db, sql, **params):
    with db.session() as s:
        return s.execute(text(sql), params).first()


def operations(db) -> int:
    return first(db, "SELECT count(*) FROM operations")[0]


def logged_tables(db, operation_id) -> set[str]:
    with db.session() as s:
        return {t for (t,) in s.execute(text("SELECT DISTINCT table_name FROM change_log WHERE operation_id = :o"),
                                        {"o": operation_id})}


def last_operation(db) -> int:
    return first(db, "SELECT max(id) FROM operations")[0]


@pytest.fixture
def user(window):
    walk.activate(window)
    return window


def identify_site(window, offset=0, tenants=1):
    """A site with `tenants` operators on it, found and clicked on the map as a user does."""
    uuid, code, lon, lat = first(window.db, "SELECT s.uuid, s.site_code, s.lon, s.lat FROM sites s WHERE deleted = 0 "
                                            "AND (SELECT count(*) FROM site_tenants t WHERE t.site_uuid = s.uuid "
                                            "AND t.deleted = 0) = :n ORDER BY s.id LIMIT 1 OFFSET :o",
                                 n=tenants, o=offset)
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    assert window.identify_panel.feature.uuid == uuid
    return uuid, code


def open_form(window, act):
    """F2 on the identified record; `act(dialog)` runs while the form is open."""
    waiting = walk.when_modal(act)
    walk.press(window, "F2")
    return waiting.done()


def press_save(d):
    walk.click(walk.button(d, tr("form_save")))
    assert not d.isVisible(), (d.banner.text(), [e.text() for e in d.form_widget.errors.values() if e.text()])


def press_cancel(d):
    walk.click(walk.button(d, tr("form_cancel")))
    assert not d.isVisible()


def add_photo(d, path):
    """Press the strip's "Thêm ảnh..." and pick `path` in the file dialog that opens."""
    def pick(fd):
        assert isinstance(fd, QFileDialog)
        fd.selectFile(str(path))
        fd.accept()
    waiting = walk.when_modal(pick)
    walk.click(walk.button(d.photos, tr("photo_add")))
    waiting.done()


def jpeg(path, colour="#357"):
    Image.new("RGB", (320, 240), colour).save(path, "JPEG")
    return path


def grid_row_index(grid, code) -> int:
    return grid.grid.getItemPosition(grid.grid.indexOf(grid.row_of(code).label))[0]


# -- operators and technologies on the site form --------------------------------------------------


def test_tick_4g_and_5g_for_a_second_operator_and_save(user):
    window = user
    uuid, code = identify_site(window)
    (owner,) = first(window.db, "SELECT operator_code FROM sites WHERE uuid = :u", u=uuid)
    before = editing.read_children(window.db, "sites", uuid)
    assert [t["operator_code"] for t in before] == [owner]
    second = next(op.code for op in OPERATORS if op.code not in (owner, UNKNOWN))
    ops = operations(window.db)

    def tick(d):
        grid = d.sub_list
        # The site's operator first, ticked as stored, named as the site's own.
        assert grid.owner == owner and grid_row_index(grid, owner) == 0
        assert grid.row_of(owner).ticked() == before[0]["technologies"]
        assert tr("form_tenant_owner") in grid.row_of(owner).label.text()
        walk.check(grid.row_of(second).boxes["4G"])
        walk.check(grid.row_of(second).boxes["5G"])
        press_save(d)

    open_form(window, tick)
    after = editing.read_children(window.db, "sites", uuid)
    assert [(t["operator_code"], t["technologies"]) for t in after] == [
        (owner, before[0]["technologies"]), (second, ("4G", "5G"))]
    assert after[0]["uuid"] == before[0]["uuid"]  # the site's own row kept, not rewritten
    assert operations(window.db) == ops + 1 and logged_tables(window.db, last_operation(window.db)) == {"site_tenants"}
    assert window.statusBar().currentMessage() == tr("edit_saved", text=f"Sửa trạm BTS {code}")
    assert window.editor.stack.undoText() == f"Sửa trạm BTS {code}"
    walk.press(window, "Ctrl+Z")
    assert editing.read_children(window.db, "sites", uuid) == before

    # Unticking the second operator's last technology takes it off the site again.
    walk.press(window, "Ctrl+Y")

    def untick(d):
        for t in ("4G", "5G"):
            walk.check(d.sub_list.row_of(second).boxes[t], False)
        press_save(d)

    open_form(window, untick)
    assert [t["operator_code"] for t in editing.read_children(window.db, "sites", uuid)] == [owner]


def test_a_new_site_keeps_its_own_operator_and_follows_its_choice(user):
    window = user
    (lon0, lat0) = first(window.db, "SELECT lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    walk.search_and_go(window, first(window.db, "SELECT site_code FROM sites ORDER BY id LIMIT 1")[0])
    walk.press(window, "Ctrl+1")

    def fill(d):
        f, grid = d.form_widget.fields, d.sub_list
        walk.type_into(f["site_code"].edit, "HT-FORM-1")
        walk.choose(f["operator_code"].combo, "MBF")
        assert grid.owner == "MBF" and grid_row_index(grid, "MBF") == 0
        walk.choose(f["operator_code"].combo, "VTL")  # changed its mind: the grid follows
        assert grid.owner == "VTL" and grid_row_index(grid, "VTL") == 0
        walk.check(grid.row_of("VNPT").boxes["3G"])
        press_save(d)

    waiting = walk.when_modal(fill)
    walk.click_map(window, lon0 + 0.002, lat0 + 0.0015)
    waiting.done()
    (uuid,) = first(window.db, "SELECT uuid FROM sites WHERE site_code = 'HT-FORM-1' AND deleted = 0")
    assert [(t["operator_code"], t["technologies"]) for t in editing.read_children(window.db, "sites", uuid)] == [
        ("VTL", ()), ("VNPT", ("3G",))]


# -- photos belong to the form's save -------------------------------------------------------------


def test_a_photo_added_then_cancelled_is_not_kept(user, tmp_path):
    window = user
    uuid, _code = identify_site(window, offset=1)
    ops = operations(window.db)
    picture = jpeg(tmp_path / "tram.jpg")

    def add_then_cancel(d):
        add_photo(d, picture)
        assert d.photos.entries() == [picture]
        press_cancel(d)

    open_form(window, add_then_cancel)
    assert photos.list_photos(window.db, "sites", uuid, include_deleted=True) == []
    assert operations(window.db) == ops
    folder = photos.photo_dir(window.db.path)
    assert not folder.exists() or not any(p.is_file() for p in folder.iterdir())


def test_a_field_edit_and_a_photo_are_one_operation_and_one_undo(user, tmp_path):
    window = user
    uuid, code = identify_site(window, offset=2)
    ops, steps = operations(window.db), window.editor.stack.count()
    picture = jpeg(tmp_path / "cot.jpg", "#a52")

    def edit(d):
        walk.type_into(d.form_widget.fields["note"].edit, "Có ảnh")
        add_photo(d, picture)
        press_save(d)

    open_form(window, edit)
    assert operations(window.db) == ops + 1 and window.editor.stack.count() == steps + 1
    assert logged_tables(window.db, last_operation(window.db)) == {"sites", "photos"}
    assert [p.original_name for p in photos.list_photos(window.db, "sites", uuid)] == ["cot.jpg"]
    walk.press(window, "Ctrl+Z")
    assert photos.list_photos(window.db, "sites", uuid) == []
    assert editing.read_values(window.db, "sites", uuid)["note"] != "Có ảnh"
    walk.press(window, "Ctrl+Y")

    # Removing it is written with the next Lưu too, and Hủy keeps it.
    def remove(d, save):
        d.photos.strip.setCurrentRow(0)
        d.photos.remove_selected(confirm=False)
        assert d.photos.entries() == []
        (press_save if save else press_cancel)(d)

    ops = operations(window.db)
    open_form(window, lambda d: remove(d, save=False))
    assert len(photos.list_photos(window.db, "sites", uuid)) == 1 and operations(window.db) == ops
    open_form(window, lambda d: remove(d, save=True))
    assert photos.list_photos(window.db, "sites", uuid) == [] and operations(window.db) == ops + 1
    assert logged_tables(window.db, last_operation(window.db)) == {"photos"}


def test_a_refused_photo_is_said_in_the_form(user, tmp_path):
    window = user
    identify_site(window, offset=3)
    bad = tmp_path / "bien_ban.jpg"
    bad.write_text("không phải ảnh", encoding="utf-8")

    def add_bad(d):
        add_photo(d, bad)
        message = d.photos.message
        assert message.isVisibleTo(d) and "bien_ban.jpg" in message.text()
        assert d.photos.entries() == []
        press_cancel(d)

    open_form(window, add_bad)


# -- messages and the saved notice ---------------------------------------------------------------


def test_a_message_goes_as_soon_as_its_field_is_right(user):
    window = user
    identify_site(window, offset=4)

    def fix(d):
        height = d.form_widget.fields["height_m"].edit
        walk.clear_text(height)
        walk.type_into(height, "350")
        walk.click(walk.button(d, tr("form_save")))
        error = d.form_widget.errors["height_m"]
        assert d.isVisible() and error.isVisibleTo(d) and d.banner.isVisibleTo(d)
        walk.clear_text(height)
        walk.type_into(height, "3")  # still wrong? no: 3 m is within 1-300
        assert not error.isVisibleTo(d) and not d.banner.isVisibleTo(d)
        walk.type_into(height, "50")  # 350 again: stays quiet until the next Lưu
        assert not error.isVisibleTo(d)
        walk.press(d, "BackSpace")
        walk.press(d, "BackSpace")
        press_save(d)

    open_form(window, fix)
    assert window.statusBar().currentMessage().startswith("Đã lưu")


def test_lu_without_a_change_says_so(user):
    window = user
    identify_site(window, offset=5)
    ops = operations(window.db)
    open_form(window, press_save)
    assert operations(window.db) == ops
    assert "không có gì thay đổi" in window.statusBar().currentMessage()


# -- fits a laptop screen; a route in words --------------------------------------------------------


def test_forms_do_not_scroll_sideways_at_1366x768(user):
    window = user
    window.resize(1366, 768)
    identify_site(window, tenants=2)

    def look(d):
        area = d.findChild(QScrollArea)
        walk.settle(50)  # the form laid out, as it is when a person looks at it
        bar = area.horizontalScrollBar()
        assert not bar.isVisible() and bar.maximum() == 0
        assert area.widget().minimumSizeHint().width() <= area.viewport().width()
        assert d.frameGeometry().width() <= 1366 and d.frameGeometry().height() <= 768
        grid = d.sub_list
        assert all(box.visibleRegion().boundingRect() == box.rect()
                   for row in grid._rows.values() for box in row.boxes.values() if box.isVisible())
        press_cancel(d)

    open_form(window, look)
    # Every other form too, new and with a record in it.
    for table in editing.EDITABLE:
        with window.db.session() as s:
            existing = s.execute(text(f"SELECT uuid FROM {table} WHERE deleted = 0 LIMIT 1")).scalar()
        for uuid in (None, existing):
            d = window.editor.make_form(table, uuid)
            d.show()
            walk.settle(50)
            area = d.findChild(QScrollArea)
            assert area.horizontalScrollBar().maximum() == 0, (table, uuid)
            assert d.frameGeometry().width() <= 1366 and d.frameGeometry().height() <= 768
            d.reject()


def test_a_route_is_shown_as_length_vertices_start_and_end(user):
    window = user
    uuid, code, wkb = first(window.db, "SELECT uuid, code, geom FROM fibre_routes WHERE deleted = 0 ORDER BY id LIMIT 1")
    line = shapely.from_wkb(wkb)
    lon, lat = line.coords[1]
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    assert window.identify_panel.feature.uuid == uuid
    panel = window.identify_panel.view.toPlainText()
    assert "WKT" not in panel and "Đường tuyến" in panel and "Điểm đầu" in panel and "Điểm cuối" in panel

    def look(d):
        texts = [label.text() for label in d.findChildren(QLabel) if label.isVisibleTo(d)]
        assert not any("WKT" in t for t in texts), texts
        shown = d.form_widget.fields["geom"].label.text()
        start = f"{line.coords[0][1]:.6f}".replace(".", ",")
        assert f"{len(line.coords)} đỉnh" in shown and (" km" in shown or " m" in shown)
        assert f"Điểm đầu: {start}" in shown and "Điểm cuối" in shown
        press_cancel(d)

    open_form(window, look)
    assert QApplication.activeModalWidget() is None
