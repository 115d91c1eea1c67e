"""A form left open while an import (or another window) writes the same record, walked as a user:
F2 on a site, something else changes its height, the user edits and presses Save."""

import pytest
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.ui.strings import tr

from . import walk


@pytest.fixture
def user(window):
    walk.activate(window)
    return window


def a_site(db):
    with db.session() as s:
        return s.execute(text("SELECT uuid, site_code, lon, lat, height_m FROM sites WHERE deleted = 0 "
                              "AND height_m IS NOT NULL ORDER BY id LIMIT 1 OFFSET 3")).one()


def open_with_f2(window, code, lon, lat, act):
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    waiting = walk.when_modal(act)
    walk.press(window, "F2")
    waiting.done()


def an_import_sets_height(window, uuid, height):
    editing.save_record(window.db, "sites", {"height_m": height}, uuid=uuid, source="xlsx:tuan_47.xlsx")


def test_an_untouched_field_keeps_the_value_an_import_wrote_meanwhile(user):
    uuid, code, lon, lat, height = a_site(user.db)

    def edit(d):
        an_import_sets_height(user, uuid, height + 11)  # while the form is open
        f = d.form_widget.fields
        walk.clear_text(f["name"].edit)
        walk.type_into(f["name"].edit, "Trạm Thạch Hạ mới")
        walk.click(walk.button(d, tr("form_save")))
        assert not d.isVisible()

    open_with_f2(user, code, lon, lat, edit)
    values = editing.read_values(user.db, "sites", uuid)
    assert values["name"] == "Trạm Thạch Hạ mới"
    assert values["height_m"] == pytest.approx(height + 11)


def test_a_field_changed_on_both_sides_is_shown_and_kept_only_when_saved_again(user):
    uuid, code, lon, lat, height = a_site(user.db)
    seen = {}

    def edit(d):
        an_import_sets_height(user, uuid, height + 11)
        f = d.form_widget.fields
        walk.clear_text(f["height_m"].edit)
        walk.type_into(f["height_m"].edit, "77")
        walk.clear_text(f["name"].edit)
        walk.type_into(f["name"].edit, "Tên mới")
        walk.click(walk.button(d, tr("form_save")))
        assert d.isVisible()  # not saved: the user is told
        seen["message"] = d.form_widget.errors["height_m"].text()
        seen["db_height"] = editing.read_values(user.db, "sites", uuid)["height_m"]
        seen["shown"] = f["height_m"].edit.text()
        walk.click(walk.button(d, tr("form_save")))  # seen both; keeps the typed value
        assert not d.isVisible()

    open_with_f2(user, code, lon, lat, edit)
    assert seen["db_height"] == pytest.approx(height + 11)
    assert "77" in seen["shown"] and "Lưu lần nữa" in seen["message"]
    assert str(int(height + 11)) in seen["message"].replace(",", ".")
    values = editing.read_values(user.db, "sites", uuid)
    assert values["height_m"] == pytest.approx(77) and values["name"] == "Tên mới"
    assert QApplication.activeModalWidget() is None
